import { bucketsOf, type Buckets, type CommonEnv } from '@adseed/config';
import { InProcessBroker, InProcessEventBus, KafkaEventBus, type EventBus, type Headers } from '@adseed/messaging';
import { FsObjectStore, MinioObjectStore, type ObjectStore } from '@adseed/storage';
import { Logger, ServiceMetrics } from '@adseed/telemetry';
import { join, resolve } from 'node:path';

/** What every service is given: its bus, store, logger and metrics, already configured. */
export interface ServiceRuntime {
  readonly service: string;
  readonly env: CommonEnv;
  readonly bus: EventBus;
  readonly store: ObjectStore;
  readonly logger: Logger;
  readonly metrics: ServiceMetrics;
  readonly buckets: Buckets;
  /** Local state directory (embedded index, conversation cache). */
  readonly dataDir: string;
}

export const RUNTIME = Symbol('RUNTIME');

export interface SharedEmbedded {
  broker: InProcessBroker;
  store: ObjectStore;
}

export interface RuntimeOverrides {
  /** In the one-process mode, every service shares one broker and one store. */
  shared?: SharedEmbedded;
  decorateHeaders?: (headers: Headers) => Headers;
  sink?: (line: string) => void;
}

/**
 * Builds a service's runtime from its validated environment. The embedded adapters are chosen
 * here; the Kafka and MinIO adapters plug in beside them (`ADSEED_BUS`, `ADSEED_STORE`).
 */
export async function createRuntime(service: string, env: CommonEnv, overrides: RuntimeOverrides = {}): Promise<ServiceRuntime> {
  const logger = new Logger({ service, level: env.LOG_LEVEL, format: env.LOG_FORMAT, sink: overrides.sink });
  const metrics = new ServiceMetrics(service);
  const dataDir = resolve(env.ADSEED_DATA_DIR);
  const store = overrides.shared?.store ?? (await createStore(env, dataDir));
  const bus = await createBus(service, env, { logger, metrics, broker: overrides.shared?.broker, decorateHeaders: overrides.decorateHeaders });
  const buckets = bucketsOf(env);
  return { service, env, bus, store, logger, metrics, buckets, dataDir };
}

async function createStore(env: CommonEnv, dataDir: string): Promise<ObjectStore> {
  switch (env.ADSEED_STORE) {
    case 'fs':
      return new FsObjectStore(join(dataDir, 'objects'));
    case 'minio':
      if (!env.MINIO_ACCESS_KEY || !env.MINIO_SECRET_KEY) throw new Error('ADSEED_STORE=minio needs MINIO_ACCESS_KEY and MINIO_SECRET_KEY');
      return new MinioObjectStore({
        endPoint: env.MINIO_ENDPOINT,
        port: env.MINIO_PORT,
        useSSL: env.MINIO_USE_SSL,
        accessKey: env.MINIO_ACCESS_KEY,
        secretKey: env.MINIO_SECRET_KEY,
        region: env.MINIO_REGION,
      });
  }
}

async function createBus(
  service: string,
  env: CommonEnv,
  deps: { logger: Logger; metrics: ServiceMetrics; broker?: InProcessBroker; decorateHeaders?: (h: Headers) => Headers },
): Promise<EventBus> {
  switch (env.ADSEED_BUS) {
    case 'memory':
      if (!deps.broker) {
        throw new Error(`ADSEED_BUS=memory only works when all services share one process (npm start); ${service} was started on its own`);
      }
      return new InProcessEventBus({
        source: service,
        broker: deps.broker,
        logger: deps.logger,
        metrics: deps.metrics,
        requestTimeoutMs: env.ADSEED_REQUEST_TIMEOUT_MS,
        decorateHeaders: deps.decorateHeaders,
      });
    case 'kafka':
      if (env.KAFKA_SASL_MECHANISM && (!env.KAFKA_SASL_USERNAME || !env.KAFKA_SASL_PASSWORD)) {
        throw new Error('KAFKA_SASL_MECHANISM needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD');
      }
      return new KafkaEventBus({
        source: service,
        brokers: env.KAFKA_BROKERS,
        clientId: `${env.KAFKA_CLIENT_ID}-${service}`,
        ssl: env.KAFKA_SSL,
        ...(env.KAFKA_SASL_MECHANISM
          ? { sasl: { mechanism: env.KAFKA_SASL_MECHANISM, username: env.KAFKA_SASL_USERNAME!, password: env.KAFKA_SASL_PASSWORD! } }
          : {}),
        logger: deps.logger,
        metrics: deps.metrics,
        requestTimeoutMs: env.ADSEED_REQUEST_TIMEOUT_MS,
        decorateHeaders: deps.decorateHeaders,
      });
  }
}
