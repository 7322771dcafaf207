import { AssetTopics, Queries, StorageTopics } from '@adseed/contracts';
import { PlatformModule, Readiness, RUNTIME, type ServiceDefinition, type ServiceRuntime } from '@adseed/platform';
import { Inject, Injectable, Module, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { EmbedAssetUseCase } from './embed-asset.use-case';
import { EmbedTextsUseCase } from './embed-texts.use-case';
import { closeEncoders, ENCODERS, loadEncoders, type LoadedEncoders } from './encoder-registry';
import { EmbeddingEnv } from './embedding.env';
import { StorageNotificationUseCase } from './storage-notification.use-case';
import { TritonClipEncoder } from './encoders/triton/triton-clip.encoder';

export const EMBEDDING_GROUP = 'embedding';

/** Thin edge: subscribes the use cases to their topics; all logic lives in the use cases. */
@Injectable()
export class EmbeddingConsumers implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
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
    const { bus } = this.runtime;
    await bus.ensureTopics([AssetTopics.ingestRequested, AssetTopics.embedded, StorageTopics.objectEvents]);
    // A data team dropping images into the seeds bucket: MinIO → Kafka → here → ingest.
    await bus.subscribe(StorageTopics.objectEvents, { group: `${EMBEDDING_GROUP}-storage-bridge` }, async (m) => {
      await this.storageNotifications.execute(m.value);
    });
    await bus.subscribe(AssetTopics.ingestRequested, { group: EMBEDDING_GROUP, concurrency: this.embedAsset.concurrency }, async (m) => {
      await this.embedAsset.execute(m.value);
    });
    this.runtime.queryServer.handle(Queries.embedTexts, (request) => this.embedTexts.execute(request));
  }

  async onApplicationShutdown(): Promise<void> {
    await closeEncoders(this.encoders);
  }
}

@Module({})
export class EmbeddingModule {
  static register(runtime: ServiceRuntime, env: EmbeddingEnv, options: { http: boolean }): DynamicModule {
    return {
      module: EmbeddingModule,
      imports: [PlatformModule.forRoot(runtime, options)],
      providers: [
        { provide: ENCODERS, useFactory: () => loadEncoders(env, runtime.logger) },
        { provide: EmbedAssetUseCase, inject: [ENCODERS], useFactory: (e: LoadedEncoders) => new EmbedAssetUseCase(runtime, e, env) },
        {
          provide: EmbedTextsUseCase,
          inject: [ENCODERS],
          useFactory: (e: LoadedEncoders) =>
            new EmbedTextsUseCase(runtime, e, { cacheEntries: env.ADSEED_TEXT_CACHE_SIZE, maxBatch: env.ADSEED_ENCODER_BATCH_SIZE, batchWindowMs: env.ADSEED_TEXT_BATCH_WAIT_MS }),
        },
        { provide: StorageNotificationUseCase, useFactory: () => new StorageNotificationUseCase(runtime) },
        EmbeddingConsumers,
      ],
      exports: [ENCODERS],
    };
  }
}

export const EmbeddingService: ServiceDefinition<typeof EmbeddingEnv> = {
  name: 'embedding',
  env: EmbeddingEnv,
  module: (runtime, env, options) => EmbeddingModule.register(runtime, env, options),
};
