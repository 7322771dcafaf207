import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { cleanupOpenApiDoc } from 'nestjs-zod';

/**
 * The gateway's OpenAPI document, generated from its controllers' decorators (@nestjs/swagger) and
 * the contracts' zod schemas behind their DTOs (nestjs-zod): `module` is the module that declares
 * the controllers, in `app`.
 */
export function openApiDocument(app: INestApplication, module: object, version = '0.1.0'): OpenAPIObject {
  const config = new DocumentBuilder()
    .setOpenAPIVersion('3.1.0')
    .setTitle('adseed gateway API')
    .setVersion(version)
    .setDescription('Turn an audience segment into an on-brand ad image grounded in real photos.')
    .addServer('/')
    .addSecurity('apiKey', { type: 'http', scheme: 'bearer' })
    .build();
  // Without API keys configured no credential is needed; with them, a bearer key.
  const document = SwaggerModule.createDocument(app, { ...config, security: [{}, { apiKey: [] }] }, { include: [module as never] });
  return cleanupOpenApiDoc(document, { version: '3.1' });
}
