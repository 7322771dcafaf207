export * from './service-runtime';
export * from './health.module';
export * from './bootstrap';
export * from './http-metrics.interceptor';
export { MetricsEndpoint, MetricsListener, type MetricsAccessOptions } from './metrics-endpoint';
export * from './failures';
export * from './request-id';
export * from './request-logging';
