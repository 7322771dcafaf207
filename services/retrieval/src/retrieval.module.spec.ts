import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CommonEnv, loadConfig } from '@adseed/config';
import { assetIdFor, AssetTopics, Queries, vectorToWire, type AssetEmbedded, type EmbedTextsRequest, type WireVector } from '@adseed/contracts';
import { InProcessBroker } from '@adseed/messaging';
import { CLOCK, createRuntime, InProcessQueries, QUERY_CLIENT, type QueryClient, type ServiceRuntime } from '@adseed/platform';
import { FsObjectStore } from '@adseed/storage';
import { Test, type TestingModule } from '@nestjs/testing';
import { RetrievalEnv } from './retrieval.env';
import { RetrievalModule } from './retrieval.module';
import { VECTOR_INDEX, type VectorIndex } from './vector-index/vector-index.port';

const MODEL = { id: 'toy', version: '1' };
const NOW = new Date('2026-05-06T07:08:09Z');

/** The embedding service, as the retrieval service sees it through the query port: every text is "red". */
class FakeEmbedding implements QueryClient {
  readonly requests: EmbedTextsRequest[] = [];
  async call<Req, Res>(query: { method: string }, request: Req): Promise<Res> {
    assert.equal(query.method, Queries.embedTexts.method, 'retrieval only asks for text embeddings');
    const r = request as EmbedTextsRequest;
    this.requests.push(r);
    return { clip: r.texts.map(() => [1, 0, 0, 0]), caption: r.texts.map(() => [1, 0, 0, 0]), models: { clip: MODEL, caption: MODEL } } as Res;
  }
  async close(): Promise<void> {}
}

const embedded = (name: string, vector: WireVector, tenant = 'acme'): AssetEmbedded => {
  const path = `seeds/${tenant}/${name}.jpg`;
  return {
    assetId: assetIdFor(path),
    tenant,
    kind: 'seed',
    path,
    caption: name,
    tags: [name],
    vectors: { clip: vector, caption: vector },
    models: { clip: MODEL, caption: MODEL },
    embeddedAt: NOW.toISOString(),
  };
};

describe('RetrievalModule', () => {
  let dir: string;
  let broker: InProcessBroker;
  let queries: InProcessQueries;
  let runtime: ServiceRuntime;
  let embedding: FakeEmbedding;
  let moduleRef: TestingModule;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'adseed-retrieval-module-'));
    broker = new InProcessBroker();
    queries = new InProcessQueries();
    const store = new FsObjectStore(join(dir, 'objects'));
    runtime = await createRuntime('retrieval', loadConfig(CommonEnv, { ADSEED_DATA_DIR: dir, LOG_LEVEL: 'error' }), {
      shared: { broker, store, queries },
      sink: () => undefined,
    });
    embedding = new FakeEmbedding();
    // the embedded index under the runtime's data dir, the in-process bus and query server; only the embedding service is faked
    moduleRef = await Test.createTestingModule({
      imports: [RetrievalModule.forRoot(runtime, loadConfig(RetrievalEnv, { ADSEED_CLIP_DIM: '4', ADSEED_CAPTION_DIM: '4' }), { http: false })],
    })
      .overrideProvider(QUERY_CLIENT)
      .useValue(embedding)
      .overrideProvider(CLOCK)
      .useValue(() => NOW)
      .compile();
    await moduleRef.init();
  });
  after(async () => {
    await moduleRef.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('indexes what the bus delivers and answers search with the overridden query client’s vectors', async () => {
    await runtime.bus.publish(AssetTopics.embedded, { key: 'a', value: embedded('red', [1, 0, 0, 0]) });
    await runtime.bus.publish(AssetTopics.embedded, { key: 'b', value: embedded('blue', [0, 0, 1, 0]) });
    await runtime.bus.publish(AssetTopics.embedded, { key: 'c', value: embedded('red', [1, 0, 0, 0], 'other') });
    await broker.whenIdle();
    assert.equal(await moduleRef.get<VectorIndex>(VECTOR_INDEX).count({ tenant: 'acme' }), 2, 'the embedded index the module opened');
    const indexed = broker.read(AssetTopics.indexed.name).map((m) => JSON.parse(m.value) as { path: string; changed: boolean; indexedAt: string });
    assert.deepEqual(
      indexed.map((e) => [e.path, e.changed, e.indexedAt]).sort(),
      [
        ['seeds/acme/blue.jpg', true, NOW.toISOString()],
        ['seeds/acme/red.jpg', true, NOW.toISOString()],
        ['seeds/other/red.jpg', true, NOW.toISOString()],
      ],
      'each announced, stamped by the overridden clock',
    );

    const reply = await queries.call(Queries.search, { tenant: 'acme', text: 'something red', k: 5, kind: 'seed', encoders: ['clip', 'caption'] });
    assert.deepEqual(embedding.requests, [{ texts: ['something red'], encoders: ['clip', 'caption'], clipTexts: ['a photo of something red'] }]);
    assert.deepEqual(
      reply.hits.map((h) => h.path),
      ['seeds/acme/red.jpg'],
      'the blue seed is under the floor, the other tenant’s is not searched',
    );
    assert.deepEqual(reply.encoders, { clip: MODEL, caption: MODEL });
  });

  it('indexes vectors sent as base64 float32 exactly as the same vectors sent as JSON arrays', async () => {
    const clip = Float32Array.of(0.6, 0.8, 0, 0);
    const asJson = embedded('json', vectorToWire(clip, 'json'), 'wire');
    const asFloat32 = embedded('f32', vectorToWire(clip, 'float32'), 'wire');
    assert.ok(!Array.isArray(asFloat32.vectors.clip), 'sent in the compact form');
    await runtime.bus.publish(AssetTopics.embedded, { key: asJson.assetId, value: asJson });
    await runtime.bus.publish(AssetTopics.embedded, { key: asFloat32.assetId, value: asFloat32 });
    await broker.whenIdle();
    const index = moduleRef.get<VectorIndex>(VECTOR_INDEX);
    const [fromJson, fromFloat32] = await Promise.all([index.get(asJson.assetId), index.get(asFloat32.assetId)]);
    assert.ok(fromJson && fromFloat32);
    assert.deepEqual(fromFloat32.vectors, fromJson.vectors);
    assert.deepEqual(fromFloat32.vectors.clip, clip);
  });

  it('reads an indexed asset for its owner only, and drops it when the bus says it was deleted', async () => {
    const red = embedded('red', [1, 0, 0, 0]);
    assert.equal((await queries.call(Queries.getAsset, { tenant: 'acme', assetId: red.assetId })).asset?.path, red.path);
    assert.deepEqual(await queries.call(Queries.getAsset, { tenant: 'other', assetId: red.assetId }), {});
    await runtime.bus.publish(AssetTopics.deleted, {
      key: red.assetId,
      value: { assetId: red.assetId, tenant: 'acme', path: red.path, deletedAt: NOW.toISOString() },
    });
    await broker.whenIdle();
    assert.deepEqual(await queries.call(Queries.getAsset, { tenant: 'acme', assetId: red.assetId }), {});
    assert.equal(await moduleRef.get<VectorIndex>(VECTOR_INDEX).count({ tenant: 'acme' }), 1);
  });
});
