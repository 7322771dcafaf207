export * from './service-runtime';
export * from './health.module';
export * from './bootstrap';
export * from './http-metrics.interceptor';
export * from './queries/query.port';
export * from './queries/in-process.queries';
export * from './queries/grpc.query-client';
export * from './queries/grpc.query-server';
export { ERROR_METADATA, fromWire, grpcCodeOf, HEALTH_SERVICE, PROTO_DIR } from './queries/grpc.wire';
