import { buildOpenApiDocument } from '@adseed/contracts';
import { Controller, Get, Header } from '@nestjs/common';

const SWAGGER_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>adseed API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div><script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script></body></html>`;

/** The OpenAPI document is generated from the contracts' zod schemas; Swagger UI is served offline. */
@Controller('docs')
export class DocsController {
  private readonly document = buildOpenApiDocument();

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  page(): string {
    return SWAGGER_PAGE;
  }

  @Get('init.js')
  @Header('Content-Type', 'application/javascript')
  init(): string {
    return "window.ui = SwaggerUIBundle({ url: '/docs/openapi.json', dom_id: '#ui' });";
  }

  @Get('openapi.json')
  openapi(): unknown {
    return this.document;
  }
}
