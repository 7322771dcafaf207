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
import { IndexAssetUseCase } from './index-asset.use-case';
import { IndexedAssetsUseCase } from './indexed-assets.use-case';
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

  it('does not bring a deleted asset back from vectors of an ingest requested before the deletion, whatever order they come in', async () => {
    const index = moduleRef.get<VectorIndex>(VECTOR_INDEX);
    const before = new Date(NOW.getTime() - 1_000).toISOString();
    const after = new Date(NOW.getTime() + 1_000).toISOString();
    const late = { ...embedded('late', [0, 1, 0, 0], 'tomb'), requestedAt: before };
    const never = { ...embedded('never', [0, 1, 0, 0], 'tomb'), requestedAt: before };
    await runtime.bus.publish(AssetTopics.embedded, { key: late.assetId, value: late });
    await broker.whenIdle();
    assert.ok(await index.get(late.assetId), 'indexed by the first ingest');
    const announced = () =>
      broker
        .read(AssetTopics.indexed.name)
        .map((m) => JSON.parse(m.value) as { assetId: string; requestedAt?: string })
        .filter((e) => e.assetId === late.assetId || e.assetId === never.assetId);
    assert.equal(announced().length, 1);
    await runtime.bus.publish(AssetTopics.deleted, {
      key: late.assetId,
      value: { assetId: late.assetId, tenant: 'tomb', path: late.path, deletedAt: NOW.toISOString() },
    });
    // a second ingest of the same upload (e.g. from the storage notification), read before the deletion, embedded after it
    await runtime.bus.publish(AssetTopics.embedded, { key: late.assetId, value: { ...late, embeddedAt: after } });
    await broker.whenIdle();
    assert.equal(await index.get(late.assetId), undefined, 'still deleted');
    assert.equal(announced().length, 1, 'and not announced as indexed');

    // an asset deleted before its (only) ingest's vectors arrive: not indexed either
    await runtime.bus.publish(AssetTopics.deleted, {
      key: never.assetId,
      value: { assetId: never.assetId, tenant: 'tomb', path: never.path, deletedAt: NOW.toISOString() },
    });
    await broker.whenIdle();
    await runtime.bus.publish(AssetTopics.embedded, { key: never.assetId, value: never });
    await broker.whenIdle();
    assert.equal(await index.get(never.assetId), undefined);

    // uploaded again after the deletion: its ingest brings it back, announced with its request time
    await runtime.bus.publish(AssetTopics.embedded, { key: late.assetId, value: { ...late, requestedAt: after } });
    await broker.whenIdle();
    assert.ok(await index.get(late.assetId), 'a new upload is indexed');
    assert.deepEqual(
      announced().map((e) => [e.assetId, e.requestedAt]),
      [
        [late.assetId, before],
        [late.assetId, after],
      ],
    );
  });

  it('keeps an asset uploaded again, changed, after its deletion when the deletion arrives late', async () => {
    const index = moduleRef.get<VectorIndex>(VECTOR_INDEX);
    const at = (ms: number) => new Date(NOW.getTime() + ms).toISOString();
    const deletion = (e: AssetEmbedded, deletedAt: string) => ({ key: e.assetId, value: { assetId: e.assetId, tenant: 'again', path: e.path, deletedAt } });
    const first = { ...embedded('fresh', [0, 1, 0, 0], 'again'), requestedAt: at(-5_000) };
    const changed = { ...first, caption: 'fresh, retouched', vectors: { clip: [0, 0.6, 0.8, 0], caption: [0, 0.6, 0.8, 0] }, requestedAt: at(1_000) };
    await runtime.bus.publish(AssetTopics.embedded, { key: first.assetId, value: first });
    await broker.whenIdle();
    await runtime.bus.publish(AssetTopics.embedded, { key: first.assetId, value: changed });
    await broker.whenIdle();
    assert.equal((await index.get(first.assetId))?.payload['requestedAt'], at(1_000), 'the record keeps the request time of the ingest that wrote it');
    await runtime.bus.publish(AssetTopics.deleted, deletion(first, at(0)));
    await broker.whenIdle();
    assert.equal((await index.get(first.assetId))?.payload.caption, 'fresh, retouched', 'indexed from an upload after the deletion: kept');
    await runtime.bus.publish(AssetTopics.deleted, deletion(first, at(3_000)));
    await broker.whenIdle();
    assert.equal(await index.get(first.assetId), undefined, 'a deletion after it removes it');
  });

  it('takes an index and a deletion of one asset in turn: a slow index started first cannot undo the deletion', async () => {
    const index = moduleRef.get<VectorIndex>(VECTOR_INDEX);
    const race = { ...embedded('race', [0, 0, 0, 1], 'race'), requestedAt: new Date(NOW.getTime() - 1_000).toISOString() };
    const originalGet = index.get.bind(index);
    let releaseGet!: () => void;
    const gate = new Promise<void>((resolve) => (releaseGet = resolve));
    let slowed = 0;
    index.get = async (id) => {
      if (id === race.assetId && slowed++ === 0) await gate; // the index's first read waits
      return originalGet(id);
    };
    try {
      const indexing = moduleRef.get(IndexAssetUseCase).execute(race);
      await new Promise((resolve) => setTimeout(resolve, 10));
      const deleting = moduleRef.get(IndexedAssetsUseCase).delete({ assetId: race.assetId, tenant: 'race', path: race.path, deletedAt: NOW.toISOString() });
      await new Promise((resolve) => setTimeout(resolve, 10));
      releaseGet();
      assert.deepEqual(await indexing, { changed: true }, 'the index ran first, as called');
      await deleting;
      assert.equal(await index.get(race.assetId), undefined, 'the deletion ran after it, and won');
    } finally {
      index.get = originalGet;
    }
  });
});
