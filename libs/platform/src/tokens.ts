/**
 * Injection tokens for the ports every service is given. PlatformModule provides each of them
 * from the service's runtime (Kafka or the in-process bus, MinIO or the filesystem store, gRPC or
 * in-process queries), so a use case asks for the port it needs and a test built with
 * `@nestjs/testing` overrides exactly that one (`.overrideProvider(OBJECT_STORE).useValue(...)`).
 */
export { EVENT_BUS } from '@adseed/messaging';
export { OBJECT_STORE } from '@adseed/storage';
export { QUERY_CLIENT, QUERY_SERVER } from './queries/query.port';

/** The service's structured logger (`Logger` from @adseed/telemetry). */
export const LOGGER = Symbol('LOGGER');
/** The service's metrics (`ServiceMetrics`: its prom-client registry and the shared instruments). */
export const METRICS = Symbol('METRICS');
/** Bucket names by role (`Buckets` from @adseed/config). */
export const BUCKETS = Symbol('BUCKETS');
/** The local state directory (embedded index, journals, caches), an absolute path. */
export const DATA_DIR = Symbol('DATA_DIR');
/** The service's own validated configuration: the object its zod schema parsed from the environment. */
export const SERVICE_CONFIG = Symbol('SERVICE_CONFIG');
/** The time source (`Clock`): `() => new Date()` in production, a hand-driven clock in tests. */
export const CLOCK = Symbol('CLOCK');
export type Clock = () => Date;
