import { bucketsOf, ConfigError, type Buckets, type CommonEnv } from '@adseed/config';
import { H, InProcessBroker, InProcessEventBus, KafkaEventBus, type EventBus, type Headers } from '@adseed/messaging';
import { FsObjectStore, MinioObjectStore, type ObjectStore } from '@adseed/storage';
import { currentRequestId, Logger, MergedRegistry, ServiceMetrics, startTracing, traceMethods, type Tracing } from '@adseed/telemetry';
import { join, resolve } from 'node:path';
import type { QueryService } from '@adseed/contracts';
import { GrpcQueryClient } from './queries/grpc.query-client';
import { GrpcQueryServer } from './queries/grpc.query-server';
import { InProcessQueries } from './queries/in-process.queries';
import type { QueryClient, QueryServer } from './queries/query.port';

/** What every service is given: its bus, store, logger and metrics, already configured. */
export interface ServiceRuntime {
  readonly service: string;
  readonly env: CommonEnv;
  readonly bus: EventBus;
  /** Queries this service makes (search, text embedding, conversation commands…): gRPC or in process. */
  readonly queries: QueryClient;
  /** Where this service registers the queries it answers. */
  readonly queryServer: QueryServer;
  readonly store: ObjectStore;
  readonly logger: Logger;
  readonly metrics: ServiceMetrics;
  readonly buckets: Buckets;
  /** Local state directory (embedded index, conversation cache). */
  readonly dataDir: string;
  /** This process's tracing, when the runtime started or was given it (not in the one-process mode). */
  readonly tracing?: Tracing;
  /**
   * Closes what this runtime opened: the gRPC server (drained: see GrpcQueryServer.drain; already
   * done in `beforeApplicationShutdown`) and channels, then the bus (producers flush, consumers
   * leave their groups).
   */
  close(): Promise<void>;
}

export const RUNTIME = Symbol('RUNTIME');

export interface SharedEmbedded {
  broker: InProcessBroker;
  store: ObjectStore;
  /** Every service's queries, called directly (a fresh registry when not given). */
  queries?: InProcessQueries;
}

/** gRPC ports when `GRPC_PORT` is unset: distinct, so the services can share one host. */
export const DEFAULT_GRPC_PORTS: Record<QueryService, number> = { embedding: 50051, retrieval: 50052, agent: 50053 };

export interface RuntimeOverrides {
  /** In the one-process mode, every service shares one broker and one store. */
  shared?: SharedEmbedded;
  decorateHeaders?: (headers: Headers) => Headers;
  sink?: (line: string) => void;
  /** Tracing already started by the caller; otherwise a service on its own starts it from OTEL_*. */
  tracing?: Tracing;
}

/**
 * Builds a service's runtime from its validated environment. The embedded adapters are chosen
 * here; the Kafka and MinIO adapters plug in beside them (`ADSEED_BUS`, `ADSEED_STORE`).
 */
export async function createRuntime(service: string, env: CommonEnv, overrides: RuntimeOverrides = {}): Promise<ServiceRuntime> {
  // The one-process mode starts tracing once for all services (startAdseed).
  const tracing = overrides.tracing ?? (overrides.shared ? undefined : startServiceTracing(service));
  const logger = new Logger({ service, level: env.LOG_LEVEL, format: env.LOG_FORMAT, sink: overrides.sink });
  // Process metrics (CPU, memory, event-loop lag, GC, handles) once per process: in the
  // one-process mode the gateway's registry carries them for all five services.
  const metrics = new ServiceMetrics(service, { defaultMetrics: !overrides.shared || service === 'gateway' });
  const dataDir = resolve(env.ADSEED_DATA_DIR);
  const store = tracedStore(overrides.shared?.store ?? (await createStore(env, dataDir)));
  const bus = await createBus(service, env, { logger, metrics, broker: overrides.shared?.broker, decorateHeaders: withRequestId(overrides.decorateHeaders) });
  const buckets = bucketsOf(env);
  const shared = overrides.shared ? (overrides.shared.queries ?? new InProcessQueries(env.ADSEED_REQUEST_TIMEOUT_MS)) : undefined;
  const queries: QueryClient =
    shared ??
    new GrpcQueryClient({
      targets: { embedding: env.EMBEDDING_GRPC_URL, retrieval: env.RETRIEVAL_GRPC_URL, agent: env.AGENT_GRPC_URL },
      rootTimeoutMs: env.ADSEED_REQUEST_TIMEOUT_MS,
      logger,
      registry: metrics.registry,
      maxAttempts: env.GRPC_MAX_ATTEMPTS,
    });
  const grpcPort = env.GRPC_PORT ?? DEFAULT_GRPC_PORTS[service as QueryService] ?? 50051;
  const queryServer: QueryServer =
    shared ?? new GrpcQueryServer({ url: `0.0.0.0:${grpcPort}`, logger, registry: metrics.registry, drainTimeoutMs: env.GRPC_DRAIN_TIMEOUT_MS });
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      if (queryServer instanceof GrpcQueryServer) await queryServer.close();
      if (!shared) await queries.close();
      await bus.close();
    })());
  return { service, env, bus, queries, queryServer, store, logger, metrics, buckets, dataDir, close, ...(tracing ? { tracing } : {}) };
}

/**
 * Starts the SDK for a service on its own, from `OTEL_*` (off when neither an exporter nor an
 * endpoint is set); a bad value is a configuration error (exit 78). The instrumentations were
 * registered by `@adseed/telemetry/dist/instrument`, the first import of the service's `main.ts`.
 */
export function startServiceTracing(service: string): Tracing {
  try {
    return startTracing({ serviceName: service });
  } catch (error) {
    throw new ConfigError([{ variable: 'OTEL_*', reason: (error as Error).message }]);
  }
}

/**
 * The one-process mode's scrape: `runtime`'s /metrics shows every listed service's registry
 * (series told apart by their `service` label) and refreshes every bus's consumer lag first.
 * Metrics are still recorded in each service's own registry; only the scrape is shared.
 */
export function withMergedMetrics(runtime: ServiceRuntime, services: () => ServiceRuntime[]): ServiceRuntime {
  const all = () => [runtime, ...services().filter((s) => s !== runtime && s.service !== runtime.service)];
  const registry = new MergedRegistry(
    () => all().map((s) => s.metrics.registry),
    () => {
      for (const s of all()) void Promise.resolve(s.bus.reportLag?.()).catch(() => undefined);
    },
  );
  return { ...runtime, metrics: { ...runtime.metrics, registry } };
}

/** A message sent while a request is handled carries its id, so its handler's log lines do too. */
function withRequestId(decorate?: (headers: Headers) => Headers): (headers: Headers) => Headers {
  return (headers) => {
    const requestId = currentRequestId();
    const out = requestId ? { ...headers, [H.requestId]: requestId } : headers;
    return decorate ? decorate(out) : out;
  };
}

/** Every store call is a span (bucket, key, size), whichever adapter is behind the port. */
function tracedStore(store: ObjectStore): ObjectStore {
  return traceMethods(store, 'ObjectStore', {
    methods: ['put', 'get', 'stat', 'list', 'delete'],
    attributes: (_method, [bucket, key, body]) => ({
      'adseed.store.bucket': typeof bucket === 'string' ? bucket : undefined,
      'adseed.store.key': typeof key === 'string' ? key : undefined,
      'adseed.store.bytes': Buffer.isBuffer(body) ? body.length : undefined,
    }),
  });
}

async function createStore(env: CommonEnv, dataDir: string): Promise<ObjectStore> {
  switch (env.ADSEED_STORE) {
    case 'fs':
      return new FsObjectStore(join(dataDir, 'objects'), { sync: env.ADSEED_STORE_FSYNC });
    case 'minio':
      // CommonEnv already refuses this; a runtime built from a hand-made env still fails as config.
      if (!env.MINIO_ACCESS_KEY || !env.MINIO_SECRET_KEY)
        throw new ConfigError([{ variable: 'MINIO_ACCESS_KEY, MINIO_SECRET_KEY', reason: 'required with ADSEED_STORE=minio' }]);
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
        throw new ConfigError([
          { variable: 'ADSEED_BUS', reason: `memory only works when all services share one process (npm start); ${service} was started on its own` },
        ]);
      }
      return new InProcessEventBus({
        source: service,
        broker: deps.broker,
        logger: deps.logger,
        metrics: deps.metrics,
        decorateHeaders: deps.decorateHeaders,
      });
    case 'kafka':
      if (env.KAFKA_SASL_MECHANISM && (!env.KAFKA_SASL_USERNAME || !env.KAFKA_SASL_PASSWORD)) {
        throw new ConfigError([
          { variable: 'KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD', reason: `required with KAFKA_SASL_MECHANISM=${env.KAFKA_SASL_MECHANISM}` },
        ]);
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
        topicPartitions: { default: env.KAFKA_TOPIC_PARTITIONS, byTopic: env.KAFKA_TOPIC_PARTITIONS_OVERRIDES },
        commitIntervalMs: env.KAFKA_COMMIT_INTERVAL_MS,
        decorateHeaders: deps.decorateHeaders,
      });
  }
}
