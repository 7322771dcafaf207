import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CommonEnv, loadConfig } from '@adseed/config';
import { assetIdFor, AssetTopics, Queries, vectorFromWire, type AssetEmbedded } from '@adseed/contracts';
import { InProcessBroker } from '@adseed/messaging';
import { CLOCK, createRuntime, InProcessQueries, type ServiceRuntime } from '@adseed/platform';
import { FsObjectStore } from '@adseed/storage';
import { Test, type TestingModule } from '@nestjs/testing';
import { EmbeddingEnv } from './embedding.env';
import { EmbeddingModule } from './embedding.module';
import { ENCODERS, type LoadedEncoders } from './encoder-registry';

const NOW = new Date('2026-07-08T09:10:11Z');

/** Deterministic stand-ins for the models: an image's vector is its size, a text's its length. */
function fakeEncoders() {
  const seen = { images: [] as string[], clipTexts: [] as string[], captionTexts: [] as string[], closed: 0 };
  const encoders: LoadedEncoders = {
    clip: {
      info: { modelId: 'fake-clip', modelVersion: '1', dim: 2 },
      embedImages: async (images) => images.map((b) => (seen.images.push(b.toString('utf8')), Float32Array.from([b.length, 1]))),
      embedTexts: async (texts) => texts.map((t) => (seen.clipTexts.push(t), Float32Array.from([t.length, 2]))),
      close: async () => void seen.closed++,
    },
    caption: {
      info: { modelId: 'fake-caption', modelVersion: '2', dim: 2 },
      embedTexts: async (texts) => texts.map((t) => (seen.captionTexts.push(t), Float32Array.from([t.length, 3]))),
      close: async () => void seen.closed++,
    },
    status: [],
  };
  return { encoders, seen };
}

/** The embedding module on its own in-process bus and store, with the fake encoders. */
async function startModule(dir: string, extraEnv: Record<string, string> = {}) {
  const broker = new InProcessBroker();
  const queries = new InProcessQueries();
  const store = new FsObjectStore(join(dir, 'objects'));
  const runtime = await createRuntime('embedding', loadConfig(CommonEnv, { ADSEED_DATA_DIR: dir, LOG_LEVEL: 'error' }), {
    shared: { broker, store, queries },
    sink: () => undefined,
  });
  const fake = fakeEncoders();
  const env = loadConfig(EmbeddingEnv, { ADSEED_CLIP_MODEL_DIR: join(dir, 'no-clip'), ADSEED_CAPTION_MODEL_DIR: join(dir, 'no-caption'), ...extraEnv });
  const moduleRef = await Test.createTestingModule({ imports: [EmbeddingModule.forRoot(runtime, env, { http: false })] })
    .overrideProvider(ENCODERS)
    .useValue(fake.encoders)
    .overrideProvider(CLOCK)
    .useValue(() => NOW)
    .compile();
  await moduleRef.init();
  return { broker, queries, store, runtime, fake, moduleRef };
}

/** Stores a photo with a caption and asks the bus to ingest it, as the gateway would; waits for the pipeline. */
async function storeAndRequestDog(store: FsObjectStore, runtime: ServiceRuntime, broker: InProcessBroker): Promise<void> {
  await store.ensureBucket('seeds');
  await store.put('seeds', 'acme/dog.jpg', Buffer.from('not really a jpeg'), { contentType: 'image/jpeg', metadata: { caption: 'a dog on a beach' } });
  const path = 'seeds/acme/dog.jpg';
  await runtime.bus.publish(AssetTopics.ingestRequested, {
    key: assetIdFor(path),
    value: { assetId: assetIdFor(path), tenant: 'acme', kind: 'seed', path, tags: ['dog'], source: 'event' },
  });
  await broker.whenIdle();
}

describe('EmbeddingModule', () => {
  let dir: string;
  let broker: InProcessBroker;
  let queries: InProcessQueries;
  let store: FsObjectStore;
  let runtime: ServiceRuntime;
  let fake: ReturnType<typeof fakeEncoders>;
  let moduleRef: TestingModule;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'adseed-embedding-module-'));
    ({ broker, queries, store, runtime, fake, moduleRef } = await startModule(dir));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('embeds an asset the bus asks for with the overridden encoders and announces its vectors', async () => {
    await storeAndRequestDog(store, runtime, broker);

    const announced = broker.read(AssetTopics.embedded.name).map((m) => JSON.parse(m.value) as AssetEmbedded);
    assert.equal(announced.length, 1);
    const [event] = announced;
    assert.deepEqual(fake.seen.images, ['not really a jpeg'], 'the stored object went to the image encoder');
    assert.deepEqual(fake.seen.captionTexts, ['a dog on a beach'], 'the tag is already in the caption');
    assert.deepEqual(event.vectors, { clip: [17, 1], caption: [16, 3] });
    assert.deepEqual(event.models, { clip: { id: 'fake-clip', version: '1' }, caption: { id: 'fake-caption', version: '2' } });
    assert.equal(event.caption, 'a dog on a beach');
    assert.equal(event.embeddedAt, NOW.toISOString(), 'the overridden clock');
    assert.equal(event.requestedAt, NOW.toISOString(), 'a request without a time: when the read began');

    const requestedAt = '2026-01-02T03:04:05.000Z';
    await runtime.bus.publish(AssetTopics.ingestRequested, {
      key: event.assetId,
      value: { assetId: event.assetId, tenant: 'acme', kind: 'seed', path: event.path, tags: ['dog'], source: 'upload', requestedAt },
    });
    await broker.whenIdle();
    const again = broker.read(AssetTopics.embedded.name).map((m) => JSON.parse(m.value) as AssetEmbedded);
    assert.deepEqual(
      again.map((e) => e.requestedAt),
      [NOW.toISOString(), requestedAt],
      'the request’s own time is carried, so a deletion after it holds these vectors back',
    );
  });

  it('answers text embeddings on the query server, each tower its own texts, repeated texts from the cache', async () => {
    const request = { texts: ['dog'], clipTexts: ['a photo of dog'], encoders: ['clip', 'caption'] as ('clip' | 'caption')[] };
    const reply = await queries.call(Queries.embedTexts, request);
    assert.deepEqual(reply, {
      clip: [[14, 2]],
      caption: [[3, 3]],
      models: { clip: { id: 'fake-clip', version: '1' }, caption: { id: 'fake-caption', version: '2' } },
    });
    assert.deepEqual(await queries.call(Queries.embedTexts, request), reply);
    assert.deepEqual(fake.seen.clipTexts, ['a photo of dog'], 'once: the second call came from the cache');
    assert.deepEqual(fake.seen.captionTexts.slice(1), ['dog']);
    const captionOnly = await queries.call(Queries.embedTexts, { texts: ['dog'], encoders: ['caption'] });
    assert.deepEqual(Object.keys(captionOnly.models), ['caption']);
  });

  it('stops consuming, then closes the encoders it was given, when the service stops', async () => {
    const order: string[] = [];
    const { bus } = runtime;
    const stopConsuming = bus.stopConsuming.bind(bus);
    bus.stopConsuming = async () => {
      order.push('bus stops consuming');
      await stopConsuming();
    };
    for (const encoder of [fake.encoders.clip!, fake.encoders.caption!]) {
      const close = encoder.close.bind(encoder);
      encoder.close = async () => {
        order.push(`${encoder.info.modelId} closed`);
        await close();
      };
    }
    await moduleRef.close();
    assert.equal(fake.seen.closed, 2);
    // Handlers never meet a closed encoder (an ingest event handled then was dead-lettered as permanently failed).
    // (the runtime's bus.close() afterwards stops again: a no-op then)
    assert.deepEqual(order.slice(0, 3), ['bus stops consuming', 'fake-clip closed', 'fake-caption closed']);
  });
});

describe('EmbeddingModule with ADSEED_EVENT_VECTORS=float32', () => {
  it('announces the same vectors as base64 float32', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'adseed-embedding-module-f32-'));
    const { broker, store, runtime, moduleRef } = await startModule(dir, { ADSEED_EVENT_VECTORS: 'float32' });
    try {
      await storeAndRequestDog(store, runtime, broker);
      const [event] = broker.read(AssetTopics.embedded.name).map((m) => AssetTopics.embedded.schema.parse(JSON.parse(m.value)));
      assert.ok(event.vectors.clip && event.vectors.caption && !Array.isArray(event.vectors.clip) && !Array.isArray(event.vectors.caption));
      assert.deepEqual(vectorFromWire(event.vectors.clip), Float32Array.of(17, 1));
      assert.deepEqual(vectorFromWire(event.vectors.caption), Float32Array.of(16, 3));
    } finally {
      await moduleRef.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('EmbeddingModule ingest captions', () => {
  /** Stores one photo per caption and publishes all their ingest events at once; waits for the pipeline. */
  async function ingest(store: FsObjectStore, runtime: ServiceRuntime, broker: InProcessBroker, captions: string[], prefix: string): Promise<AssetEmbedded[]> {
    await store.ensureBucket('seeds');
    const paths = await Promise.all(
      captions.map(async (caption, i) => {
        const key = `acme/${prefix}-${i}.jpg`;
        await store.put('seeds', key, Buffer.from(`photo ${prefix} ${i}`), { contentType: 'image/jpeg', metadata: { caption } });
        return `seeds/${key}`;
      }),
    );
    await Promise.all(
      paths.map((path) =>
        runtime.bus.publish(AssetTopics.ingestRequested, {
          key: assetIdFor(path),
          value: { assetId: assetIdFor(path), tenant: 'acme', kind: 'seed', path, tags: [], source: 'event' },
        }),
      ),
    );
    await broker.whenIdle();
    const byPath = new Map(
      broker.read(AssetTopics.embedded.name).map((m) => [(JSON.parse(m.value) as AssetEmbedded).path, JSON.parse(m.value) as AssetEmbedded]),
    );
    return paths.map((p) => byPath.get(p)!);
  }

  it('encodes each distinct caption once, in flight together or later, and gives repeats the same vector', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'adseed-embedding-captions-'));
    const { broker, store, runtime, fake, moduleRef } = await startModule(dir);
    try {
      const first = await ingest(store, runtime, broker, ['red shoe', 'blue shoe', 'red shoe', 'red shoe', 'blue shoe'], 'a');
      assert.deepEqual([...fake.seen.captionTexts].sort(), ['blue shoe', 'red shoe'], 'identical captions in flight shared one run');
      assert.equal(fake.seen.images.length, 5, 'every image still went to the image encoder');
      assert.deepEqual(
        first.map((e) => e.vectors.caption),
        [
          [8, 3],
          [9, 3],
          [8, 3],
          [8, 3],
          [9, 3],
        ],
      );
      const later = await ingest(store, runtime, broker, ['red shoe', 'green hat'], 'b');
      assert.deepEqual(fake.seen.captionTexts.slice(2), ['green hat'], 'a caption seen before came from the cache');
      assert.deepEqual(
        later.map((e) => e.vectors.caption),
        [
          [8, 3],
          [9, 3],
        ],
      );
    } finally {
      await moduleRef.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('encodes every caption when the text cache is off (ADSEED_TEXT_CACHE_SIZE=0), repeats in flight still shared', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'adseed-embedding-captions-off-'));
    const { broker, store, runtime, fake, moduleRef } = await startModule(dir, { ADSEED_TEXT_CACHE_SIZE: '0' });
    try {
      // three events at once: with no cache, only sharing the run in flight encodes them once
      const together = await ingest(store, runtime, broker, ['red shoe', 'red shoe', 'red shoe'], 'a');
      assert.deepEqual(fake.seen.captionTexts, ['red shoe']);
      assert.deepEqual(
        together.map((e) => e.vectors.caption),
        [
          [8, 3],
          [8, 3],
          [8, 3],
        ],
      );
      await ingest(store, runtime, broker, ['red shoe'], 'b');
      assert.deepEqual(fake.seen.captionTexts, ['red shoe', 'red shoe'], 'later: encoded again, nothing was kept');
    } finally {
      await moduleRef.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('does not keep a failed caption: the events that shared the failed run are retried and ask the model again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'adseed-embedding-captions-fail-'));
    const { broker, store, runtime, fake, moduleRef } = await startModule(dir);
    const caption = fake.encoders.caption!;
    const embedTexts = caption.embedTexts.bind(caption);
    let failures = 1;
    caption.embedTexts = async (texts) => {
      if (failures-- > 0) throw new Error('model hiccup');
      return embedTexts(texts);
    };
    try {
      const events = await ingest(store, runtime, broker, ['red shoe', 'red shoe'], 'a');
      assert.deepEqual(
        events.map((e) => e?.vectors.caption),
        [
          [8, 3],
          [8, 3],
        ],
        'the bus retried both events and the model answered',
      );
      assert.deepEqual(fake.seen.captionTexts, ['red shoe'], 'the failed run recorded nothing; the retry ran once for both');
      assert.equal(broker.read(AssetTopics.embedded.name).length, 2);
    } finally {
      await moduleRef.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
