export { buildOpenApiDocument, GatewayModule, GatewayService, createGatewayApp, PUBLIC_DIR } from './gateway.module';
export { GatewayEnv } from './gateway.env';
export { inspectImage } from './image-inspector';
