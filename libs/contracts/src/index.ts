export * from './common';
export * from './conversation';
export * from './topic';
export * from './events/asset.events';
export * from './events/service.routes';
export * from './events/storage.events';
export * from './rest/api.dto';
export * from './rest/openapi';
