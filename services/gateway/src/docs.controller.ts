import { Controller, Get, Header, NotFoundException } from '@nestjs/common';
import { ApiExcludeController, type OpenAPIObject } from '@nestjs/swagger';

const SWAGGER_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>adseed API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div><script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script></body></html>`;

/**
 * The OpenAPI document, generated from the gateway's controllers when the app is built (see
 * openapi.document.ts), and Swagger UI, served offline.
 */
@ApiExcludeController()
@Controller('docs')
export class DocsController {
  private document?: OpenAPIObject;

  /** The document to serve (set by createGatewayApp). */
  serve(document: OpenAPIObject): void {
    this.document = document;
  }

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
  openapi(): OpenAPIObject {
    if (!this.document) throw new NotFoundException();
    return this.document;
  }
}
