import 'reflect-metadata';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AgentService, SubjectCatalogueService } from '@adseed/agent';
import { CommonEnv, envBoolean, envInt, loadConfigs } from '@adseed/config';
import { EmbeddingService } from '@adseed/embedding';
import { createGatewayApp, GatewayEnv } from '@adseed/gateway';
import { GenerationModule, GenerationService, type AdGenerator } from '@adseed/generation';
import { InProcessBroker } from '@adseed/messaging';
import { createRuntime, InProcessQueries, MetricsListener, withMergedMetrics, type ServiceDefinition, type ServiceRuntime } from '@adseed/platform';
import { RetrievalService, VECTOR_INDEX, type VectorIndex } from '@adseed/retrieval';
import { FsObjectStore } from '@adseed/storage';
import { Logger, NestLoggerAdapter, startTracing } from '@adseed/telemetry';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { DEFAULT_DEMO_LIBRARY, seedDemoLibrary } from './demo-library';
import { requeueStoredUnindexed } from './stored-unindexed';

/** Repository root, from services/standalone/dist. */
export const REPO_ROOT = resolve(__dirname, '..', '..', '..');

/** The one-process mode's own settings: where it listens, its caches, the in-process bus's journal. */
export const StandaloneEnv = z.object({
  /** Bind address of `npm start` (the services on their own listen on every interface). */
  HOST: z.string().min(1).default('127.0.0.1'),
  /** Downloaded and generated models. */
  ADSEED_CACHE_DIR: z.string().min(1).default(resolve(REPO_ROOT, '.cache')),
  /** The demo seed library; an empty string starts with an empty library. */
  ADSEED_DEMO_LIBRARY: z.string().optional(),
  /** Off only for throw-away runs: without the journal, a crash loses events in flight. */
  ADSEED_BUS_JOURNAL: envBoolean(true),
  ADSEED_BUS_FSYNC: z.enum(['interval', 'always', 'never']).default('interval'),
  ADSEED_BUS_FSYNC_INTERVAL_MS: envInt(5, 1, 60_000),
});
export type StandaloneEnv = z.infer<typeof StandaloneEnv>;

export { DEFAULT_DEMO_LIBRARY };

/**
 * Every setting of the one-process mode, validated at once through the same schemas the services
 * use on their own: one ConfigError listing every problem (exit 78 from `npm start`).
 */
export function loadAdseedConfig(env: NodeJS.ProcessEnv = process.env) {
  return loadConfigs(
    {
      common: CommonEnv,
      standalone: StandaloneEnv,
      embedding: EmbeddingService.env,
      retrieval: RetrievalService.env,
      generation: GenerationService.env,
      agent: AgentService.env,
      gateway: GatewayEnv,
    },
    env,
  );
}
export type AdseedConfig = ReturnType<typeof loadAdseedConfig>;

export interface AdseedOptions {
  dataDir: string;
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** null: start with an empty library. */
  seedLibraryDir?: string | null;
  clipModelDir?: string | null;
  captionModelDir?: string | null;
  /** Extra environment (wins over process.env). */
  env?: NodeJS.ProcessEnv;
  /** Where log lines go (tests silence them). */
  logSink?: (line: string) => void;
  /** Generate with this instead of the generator `ADSEED_GENERATOR` names (tests: a generator behind the same port). */
  generator?: AdGenerator;
}

export interface RunningAdseed {
  url: string;
  /** `/metrics` on its own listener, when `METRICS_PORT` is set. */
  metricsUrl?: string;
  broker: InProcessBroker;
  store: FsObjectStore;
  /** The services' queries (direct calls in this mode). */
  queries: InProcessQueries;
  /** Resolves when the demo library is stored and indexed. */
  demoLibrary: Promise<{ photos: number; published: number }>;
  /** Resolves with how many stored-but-unindexed assets start-up queued again. */
  requeued: Promise<number>;
  /** Resolves when no service has a message left to handle. */
  whenIdle(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The embedded default: all five services in one process, sharing an in-process broker and a
 * filesystem object store — the same modules that run as separate processes in production.
 */
export async function startAdseed(options: AdseedOptions): Promise<RunningAdseed> {
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    // One process, one build: asset.embedded's consumer always reads the compact vectors.
    ADSEED_EVENT_VECTORS: 'float32',
    ...process.env,
    ...(options.clipModelDir !== undefined ? { ADSEED_CLIP_MODEL_DIR: options.clipModelDir ?? join(dataDir, 'no-clip-model') } : {}),
    ...(options.captionModelDir !== undefined ? { ADSEED_CAPTION_MODEL_DIR: options.captionModelDir ?? join(dataDir, 'no-caption-model') } : {}),
    // A separate metrics listener binds where the product does unless told otherwise.
    METRICS_HOST: options.env?.METRICS_HOST ?? process.env.METRICS_HOST ?? options.host ?? '127.0.0.1',
    ...options.env,
    ADSEED_DATA_DIR: dataDir,
    ADSEED_BUS: 'memory',
    ADSEED_STORE: 'fs',
  };
  const config = loadAdseedConfig(env);
  const { common, standalone } = config;
  const logger = new Logger({ service: 'standalone', level: common.LOG_LEVEL, format: common.LOG_FORMAT, sink: options.logSink });
  // One SDK for the process; each service's spans still name it (`adseed.service`, tracer name).
  const tracing = startTracing({ serviceName: 'adseed' });
  // Journalled, so a crash (kill -9) loses no event: what was not handled is delivered on start.
  const broker = new InProcessBroker(
    standalone.ADSEED_BUS_JOURNAL
      ? {
          journal: { dir: join(dataDir, 'bus'), fsync: standalone.ADSEED_BUS_FSYNC, fsyncIntervalMs: standalone.ADSEED_BUS_FSYNC_INTERVAL_MS },
          logger: logger.child({ component: 'bus-journal' }),
        }
      : {},
  );
  const store = new FsObjectStore(join(dataDir, 'objects'), { sync: common.ADSEED_STORE_FSYNC });
  const shared = { broker, store, queries: new InProcessQueries(common.ADSEED_REQUEST_TIMEOUT_MS) };
  const runtimeOf = (name: string) => createRuntime(name, common, { shared, sink: options.logSink });

  const contexts: INestApplicationContext[] = [];
  const runtimes: ServiceRuntime[] = [];
  const startWorker = async <E extends z.ZodType>(definition: ServiceDefinition<E>, settings: z.infer<E>) => {
    const runtime = await runtimeOf(definition.name);
    const context = await NestFactory.createApplicationContext(definition.module(runtime, settings, { http: false }), {
      logger: new NestLoggerAdapter(runtime.logger),
    });
    await context.init();
    contexts.push(context);
    runtimes.push(runtime);
    return { runtime, context };
  };
  // Consumers first, so nothing the gateway publishes waits for a subscriber.
  await startWorker(EmbeddingService, config.embedding);
  const retrieval = await startWorker(RetrievalService, config.retrieval);
  await startWorker(
    options.generator ? { ...GenerationService, module: (runtime, env, o) => GenerationModule.forRoot(runtime, env, o, options.generator) } : GenerationService,
    config.generation,
  );
  await startWorker(AgentService, config.agent);
  const catalogue = contexts[contexts.length - 1].get(SubjectCatalogueService);
  /** Idle: no message left to handle, and the subject catalogue's pending snapshot written. */
  const whenIdle = async () => {
    await broker.whenIdle();
    await catalogue.flush();
  };
  // The gateway's /metrics is the process's: it shows every service's registry.
  const gatewayRuntime: ServiceRuntime = withMergedMetrics(await runtimeOf('gateway'), () => runtimes);
  const gateway = await createGatewayApp(gatewayRuntime, config.gateway);
  await gateway.listen(options.port ?? common.PORT, options.host ?? '127.0.0.1');
  const address = (gateway.getHttpServer() as Server).address() as AddressInfo;
  const url = `http://${address.address === '::' ? 'localhost' : address.address}:${address.port}`;
  const metricsPort = gateway.get(MetricsListener, { strict: false }).port;
  const metricsUrl =
    metricsPort === undefined ? undefined : `http://${common.METRICS_HOST.includes(':') ? `[${common.METRICS_HOST}]` : common.METRICS_HOST}:${metricsPort}`;

  // Once the journal's replay is handled, whatever is stored but still not indexed was lost
  // before the journal existed (or its event was dead-lettered): queue it again, and say so.
  const requeued = broker.whenIdle().then(() =>
    requeueStoredUnindexed({
      store,
      index: retrieval.context.get<symbol, VectorIndex>(VECTOR_INDEX, { strict: false }),
      bus: gatewayRuntime.bus,
      buckets: gatewayRuntime.buckets,
      logger,
    }),
  );
  requeued.catch((error: Error) => logger.error('re-queueing stored-but-unindexed assets failed', { error }));

  // Closing stops the demo seeding and waits for the photos it is storing (none is written after close).
  const seeding = new AbortController();
  const libraryDir = options.seedLibraryDir === undefined ? DEFAULT_DEMO_LIBRARY : options.seedLibraryDir;
  const demoLibrary = requeued
    .catch(() => 0)
    .then(() =>
      seedDemoLibrary({
        dir: libraryDir ?? join(dataDir, 'no-demo-library'),
        tenant: config.gateway.ADSEED_DEFAULT_TENANT,
        store,
        bus: gatewayRuntime.bus,
        queries: gatewayRuntime.queries,
        buckets: gatewayRuntime.buckets,
        logger,
        markerFile: join(dataDir, 'demo-library.complete'),
        whenIndexed: () => broker.whenIdle(),
        signal: seeding.signal,
      }),
    );
  demoLibrary.catch((error: Error) => logger.error('demo library failed', { error }));

  return {
    url,
    ...(metricsUrl ? { metricsUrl } : {}),
    broker,
    store,
    queries: shared.queries,
    demoLibrary,
    requeued,
    whenIdle,
    close: async () => {
      seeding.abort();
      await demoLibrary.catch(() => undefined);
      await gateway.close();
      for (const context of contexts.reverse()) await context.close();
      await broker.close();
      await tracing.shutdown();
    },
  };
}
