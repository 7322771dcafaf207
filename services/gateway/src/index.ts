export { GatewayModule, GatewayService, createGatewayApp, PUBLIC_DIR } from './gateway.module';
export { GatewayEnv } from './gateway.env';
export { sniffImageType, inspectImage } from './image-inspector';
