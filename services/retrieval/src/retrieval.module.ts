import { join } from 'node:path';
import { AssetTopics, Queries } from '@adseed/contracts';
import { PlatformModule, Readiness, RUNTIME, type ServiceDefinition, type ServiceRuntime } from '@adseed/platform';
import { traceMethods } from '@adseed/telemetry';
import { Inject, Injectable, Module, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { IndexAssetUseCase } from './index-asset.use-case';
import { IndexedAssetsUseCase } from './indexed-assets.use-case';
import { RetrievalEnv } from './retrieval.env';
import { SearchUseCase } from './search.use-case';
import { EmbeddedVectorIndex } from './vector-index/embedded-vector.index';
import { QdrantVectorIndex } from './vector-index/qdrant-vector.index';
import type { VectorIndex } from './vector-index/vector-index.port';

export const RETRIEVAL_GROUP = 'retrieval';
export const VECTOR_INDEX = Symbol('VECTOR_INDEX');

async function openIndex(runtime: ServiceRuntime, env: RetrievalEnv): Promise<VectorIndex> {
  switch (env.ADSEED_INDEX) {
    case 'embedded': {
      const dir = join(runtime.dataDir, 'index');
      const index = await EmbeddedVectorIndex.open({ dir, dimensions: { clip: env.ADSEED_CLIP_DIM, caption: env.ADSEED_CAPTION_DIM } });
      runtime.logger.info('embedded vector index open', { dir, vectors: await index.count() });
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
      runtime.logger.info('qdrant vector index open', { url: env.QDRANT_URL, alias: index.target, collection: index.collection });
      return index;
    }
  }
}

@Injectable()
export class RetrievalConsumers implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(VECTOR_INDEX) private readonly index: VectorIndex,
    private readonly indexAsset: IndexAssetUseCase,
    private readonly search: SearchUseCase,
    private readonly assets: IndexedAssetsUseCase,
    readiness: Readiness,
  ) {
    readiness.register('index', async () => ({ ok: true, detail: `${await index.count()} vectors` }));
  }

  async onApplicationBootstrap(): Promise<void> {
    const { bus } = this.runtime;
    await bus.ensureTopics([AssetTopics.embedded, AssetTopics.indexed, AssetTopics.deleted]);
    await bus.subscribe(AssetTopics.embedded, { group: RETRIEVAL_GROUP }, async (m) => {
      await this.indexAsset.execute(m.value);
    });
    await bus.subscribe(AssetTopics.deleted, { group: RETRIEVAL_GROUP }, async (m) => {
      await this.assets.delete(m.value);
    });
    this.runtime.queryServer.handle(Queries.search, (request) => this.search.execute(request));
    this.runtime.queryServer.handle(Queries.getAsset, async (request) => ({ ...(await this.assets.get(request)) }));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.index.close();
  }
}

@Module({})
export class RetrievalModule {
  static register(runtime: ServiceRuntime, env: RetrievalEnv, options: { http: boolean }): DynamicModule {
    return {
      module: RetrievalModule,
      imports: [PlatformModule.forRoot(runtime, options)],
      providers: [
        { provide: VECTOR_INDEX, useFactory: async () => traceMethods(await openIndex(runtime, env), 'VectorIndex', { methods: ['search', 'upsert', 'delete', 'get', 'count'] }) },
        { provide: IndexAssetUseCase, inject: [VECTOR_INDEX], useFactory: (i: VectorIndex) => new IndexAssetUseCase(runtime, i) },
        {
          provide: SearchUseCase,
          inject: [VECTOR_INDEX],
          useFactory: (i: VectorIndex) =>
            new SearchUseCase(runtime, i, {
              rrfK: env.ADSEED_RRF_K,
              floor: { clip: env.ADSEED_FLOOR_CLIP, caption: env.ADSEED_FLOOR_CAPTION },
              requireLicence: env.ADSEED_REQUIRE_LICENCE,
            }),
        },
        { provide: IndexedAssetsUseCase, inject: [VECTOR_INDEX], useFactory: (i: VectorIndex) => new IndexedAssetsUseCase(runtime, i) },
        RetrievalConsumers,
      ],
      exports: [VECTOR_INDEX],
    };
  }
}

export const RetrievalService: ServiceDefinition<typeof RetrievalEnv> = {
  name: 'retrieval',
  env: RetrievalEnv,
  module: (runtime, env, options) => RetrievalModule.register(runtime, env, options),
};
