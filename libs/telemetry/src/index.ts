export * from './logger';
export * from './metrics';
export * from './merged-registry';
export * from './tracing';
export * from './instrumentations';
export * from './otlp-receiver';
