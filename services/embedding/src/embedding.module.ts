import { AssetTopics, Queries, StorageTopics } from '@adseed/contracts';
import { EVENT_BUS, type EventBus } from '@adseed/messaging';
import {
  LOGGER,
  PlatformModule,
  QUERY_SERVER,
  Readiness,
  SERVICE_CONFIG,
  type QueryServer,
  type ServiceDefinition,
  type ServiceRuntime,
} from '@adseed/platform';
import type { Logger } from '@adseed/telemetry';
import { Inject, Injectable, Module, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import { EmbedAssetUseCase } from './embed-asset.use-case';
import { EmbedTextsUseCase } from './embed-texts.use-case';
import { closeEncoders, ENCODERS, loadEncoders, type LoadedEncoders } from './encoder-registry';
import { EmbeddingEnv } from './embedding.env';
import { StorageNotificationUseCase } from './storage-notification.use-case';
import { TritonClipEncoder } from './encoders/triton/triton-clip.encoder';

export const EMBEDDING_GROUP = 'embedding';

/** The encoders `ADSEED_ENCODER` and the model directories name, loaded (or reported absent). */
export const encodersProvider: Provider = {
  provide: ENCODERS,
  inject: [SERVICE_CONFIG, LOGGER],
  useFactory: (env: EmbeddingEnv, logger: Logger): Promise<LoadedEncoders> => loadEncoders(env, logger),
};

/** Thin edge: subscribes the use cases to their topics; all logic lives in the use cases. */
@Injectable()
export class EmbeddingConsumers implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(QUERY_SERVER) private readonly queryServer: QueryServer,
    @Inject(ENCODERS) private readonly encoders: LoadedEncoders,
    private readonly embedAsset: EmbedAssetUseCase,
    private readonly embedTexts: EmbedTextsUseCase,
    private readonly storageNotifications: StorageNotificationUseCase,
    readiness: Readiness,
  ) {
    readiness.register('encoders', async () => ({
      ok: Boolean(encoders.clip || encoders.caption),
      detail: encoders.status.map((s) => `${s.name}: ${s.loaded ? 'loaded' : 'absent'}`).join(', '),
    }));
    const triton = encoders.clip instanceof TritonClipEncoder ? encoders.clip : undefined;
    if (triton) {
      // ADSEED_ENCODER=triton: the server must be ready over KServe v2, unless the in-process
      // fallback can serve meanwhile (then readiness says so and stays up).
      readiness.register('triton', async () => {
        try {
          return { ok: true, detail: `ready at ${(await triton.serverReady(2_000)).address}` };
        } catch (error) {
          if (triton.hasFallback) return { ok: true, detail: `not ready (${(error as Error).message}); serving from the in-process fallback` };
          throw error;
        }
      });
    }
  }

  async onApplicationBootstrap(): Promise<void> {
    const { bus } = this;
    await bus.ensureTopics([AssetTopics.ingestRequested, AssetTopics.embedded, StorageTopics.objectEvents]);
    // A data team dropping images into the seeds bucket: MinIO → Kafka → here → ingest.
    await bus.subscribe(StorageTopics.objectEvents, { group: `${EMBEDDING_GROUP}-storage-bridge` }, async (m) => {
      await this.storageNotifications.execute(m.value);
    });
    await bus.subscribe(AssetTopics.ingestRequested, { group: EMBEDDING_GROUP, concurrency: this.embedAsset.concurrency }, async (m) => {
      await this.embedAsset.execute(m.value);
    });
    this.queryServer.handle(Queries.embedTexts, (request) => this.embedTexts.execute(request));
  }

  async onApplicationShutdown(): Promise<void> {
    await closeEncoders(this.encoders);
  }
}

/**
 * The embedding service. Its ports (bus, store, queries, metrics, clock, config as `EmbeddingEnv`)
 * come from the global PlatformModule; `forRoot` provides them from a runtime, a test imports
 * `PlatformModule.forRoot(...)` beside it and overrides what it needs (e.g. ENCODERS).
 */
@Module({
  providers: [encodersProvider, EmbedAssetUseCase, EmbedTextsUseCase, StorageNotificationUseCase, EmbeddingConsumers],
  exports: [ENCODERS],
})
export class EmbeddingModule {
  static forRoot(runtime: ServiceRuntime, env: EmbeddingEnv, options: { http: boolean }): DynamicModule {
    return { module: EmbeddingModule, imports: [PlatformModule.forRoot(runtime, { ...options, config: env })] };
  }
}

export const EmbeddingService: ServiceDefinition<typeof EmbeddingEnv> = {
  name: 'embedding',
  env: EmbeddingEnv,
  module: (runtime, env, options) => EmbeddingModule.forRoot(runtime, env, options),
};
