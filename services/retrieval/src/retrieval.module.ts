import { join } from 'node:path';
import { AssetTopics, Queries } from '@adseed/contracts';
import { EVENT_BUS, type EventBus } from '@adseed/messaging';
import {
  CLOCK,
  DATA_DIR,
  LOGGER,
  PlatformModule,
  QUERY_SERVER,
  Readiness,
  SERVICE_CONFIG,
  type Clock,
  type QueryServer,
  type ServiceDefinition,
  type ServiceRuntime,
} from '@adseed/platform';
import { traceMethods, type Logger } from '@adseed/telemetry';
import { Inject, Injectable, Module, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import { DeletedAssets } from './deleted-assets';
import { IndexAssetUseCase } from './index-asset.use-case';
import { IndexedAssetsUseCase } from './indexed-assets.use-case';
import { RetrievalEnv } from './retrieval.env';
import { SearchUseCase } from './search.use-case';
import { EmbeddedVectorIndex } from './vector-index/embedded-vector.index';
import { QdrantVectorIndex } from './vector-index/qdrant-vector.index';
import { VECTOR_INDEX, type VectorIndex } from './vector-index/vector-index.port';

export const RETRIEVAL_GROUP = 'retrieval';

/** The index `ADSEED_INDEX` names, open, every call a span. */
export const vectorIndexProvider: Provider = {
  provide: VECTOR_INDEX,
  inject: [SERVICE_CONFIG, DATA_DIR, LOGGER],
  useFactory: async (env: RetrievalEnv, dataDir: string, logger: Logger): Promise<VectorIndex> =>
    traceMethods(await openIndex(env, dataDir, logger), 'VectorIndex', { methods: ['search', 'upsert', 'delete', 'get', 'count'] }),
};

/** The deletions remembered under the data folder (see `DeletedAssets`). */
export const deletedAssetsProvider: Provider = {
  provide: DeletedAssets,
  inject: [DATA_DIR, CLOCK],
  useFactory: (dataDir: string, now: Clock): Promise<DeletedAssets> => DeletedAssets.open(join(dataDir, 'retrieval', 'tombstones.jsonl'), now),
};

async function openIndex(env: RetrievalEnv, dataDir: string, logger: Logger): Promise<VectorIndex> {
  switch (env.ADSEED_INDEX) {
    case 'embedded': {
      const dir = join(dataDir, 'index');
      const index = await EmbeddedVectorIndex.open({ dir, dimensions: { clip: env.ADSEED_CLIP_DIM, caption: env.ADSEED_CAPTION_DIM } });
      logger.info('embedded vector index open', { dir, vectors: await index.count() });
      return index;
    }
    case 'qdrant': {
      const index = await QdrantVectorIndex.open({
        url: env.QDRANT_URL as string, // RetrievalEnv requires it when ADSEED_INDEX=qdrant
        apiKey: env.QDRANT_API_KEY,
        timeoutMs: env.QDRANT_TIMEOUT_MS,
        prefix: env.QDRANT_COLLECTION_PREFIX,
        version: env.QDRANT_COLLECTION_VERSION,
        dimensions: { clip: env.ADSEED_CLIP_DIM, caption: env.ADSEED_CAPTION_DIM },
      });
      logger.info('qdrant vector index open', { url: env.QDRANT_URL, alias: index.target, collection: index.collection });
      return index;
    }
  }
}

/** Thin edge: subscribes the use cases to their topics and queries; all logic lives in the use cases. */
@Injectable()
export class RetrievalConsumers implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(QUERY_SERVER) private readonly queryServer: QueryServer,
    @Inject(VECTOR_INDEX) private readonly index: VectorIndex,
    private readonly deleted: DeletedAssets,
    private readonly indexAsset: IndexAssetUseCase,
    private readonly search: SearchUseCase,
    private readonly assets: IndexedAssetsUseCase,
    readiness: Readiness,
  ) {
    readiness.register('index', async () => ({ ok: true, detail: `${await index.count()} vectors` }));
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.bus.ensureTopics([AssetTopics.embedded, AssetTopics.indexed, AssetTopics.deleted]);
    await this.bus.subscribe(AssetTopics.embedded, { group: RETRIEVAL_GROUP }, async (m) => {
      await this.indexAsset.execute(m.value);
    });
    await this.bus.subscribe(AssetTopics.deleted, { group: RETRIEVAL_GROUP }, async (m) => {
      await this.assets.delete(m.value);
    });
    this.queryServer.handle(Queries.search, (request) => this.search.execute(request));
    this.queryServer.handle(Queries.getAsset, async (request) => ({ ...(await this.assets.get(request)) }));
  }

  async onApplicationShutdown(): Promise<void> {
    try {
      await this.index.close();
    } finally {
      await this.deleted.close();
    }
  }
}

/**
 * The retrieval service. Its ports (bus, queries, metrics, clock, config as `RetrievalEnv`) come
 * from the global PlatformModule; `forRoot` provides them from a runtime, a test imports
 * `PlatformModule.forRoot(...)` beside it and overrides what it needs.
 */
@Module({
  providers: [vectorIndexProvider, deletedAssetsProvider, IndexAssetUseCase, SearchUseCase, IndexedAssetsUseCase, RetrievalConsumers],
  exports: [VECTOR_INDEX],
})
export class RetrievalModule {
  static forRoot(runtime: ServiceRuntime, env: RetrievalEnv, options: { http: boolean }): DynamicModule {
    return { module: RetrievalModule, imports: [PlatformModule.forRoot(runtime, { ...options, config: env })] };
  }
}

export const RetrievalService: ServiceDefinition<typeof RetrievalEnv> = {
  name: 'retrieval',
  env: RetrievalEnv,
  module: (runtime, env, options) => RetrievalModule.forRoot(runtime, env, options),
};
