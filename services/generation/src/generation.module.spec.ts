import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CommonEnv, loadConfig } from '@adseed/config';
import { GenerationTopics, singleAdKey, type SingleAdCompleted } from '@adseed/contracts';
import { InProcessBroker } from '@adseed/messaging';
import { createRuntime, PlatformModule, type ServiceRuntime } from '@adseed/platform';
import { FsObjectStore } from '@adseed/storage';
import { Test, type TestingModule } from '@nestjs/testing';
import sharp from 'sharp';
import { GenerationEnv } from './generation.env';
import { GenerationModule } from './generation.module';
import { AD_GENERATOR, type AdGenerator, type AdRequest, type GeneratedAd } from './generators/ad-generator.port';

/** A generator that paints a grey square of the size it is asked for, and remembers the requests. */
class RecordingGenerator implements AdGenerator {
  readonly name = 'recording';
  readonly requests: AdRequest[] = [];
  async generate(request: AdRequest): Promise<GeneratedAd> {
    this.requests.push(request);
    const size = request.size ?? 1080;
    const png = await sharp({ create: { width: size, height: size, channels: 3, background: '#888' } })
      .png()
      .toBuffer();
    return { png, width: size, height: size, generator: this.name };
  }
}

describe('GenerationModule', () => {
  let dir: string;
  let broker: InProcessBroker;
  let store: FsObjectStore;
  let runtime: ServiceRuntime;
  let generator: RecordingGenerator;
  let moduleRef: TestingModule;
  const env = loadConfig(GenerationEnv, { ADSEED_AD_SIZE: '1100' });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'adseed-generation-module-'));
    broker = new InProcessBroker();
    store = new FsObjectStore(join(dir, 'objects'));
    runtime = await createRuntime('generation', loadConfig(CommonEnv, { ADSEED_DATA_DIR: dir, LOG_LEVEL: 'error' }), {
      shared: { broker, store },
      sink: () => undefined,
    });
    for (const bucket of ['seeds', 'brands']) await store.ensureBucket(bucket);
    await store.put(
      'seeds',
      'acme/dog.jpg',
      await sharp({ create: { width: 64, height: 48, channels: 3, background: '#7a9' } })
        .jpeg()
        .toBuffer(),
      { contentType: 'image/jpeg' },
    );
    await store.put(
      'brands',
      'acme/pack.png',
      await sharp({ create: { width: 20, height: 20, channels: 3, background: '#c33' } })
        .png()
        .toBuffer(),
      { contentType: 'image/png' },
    );
    generator = new RecordingGenerator();
    // the platform's ports with this service's config, the generation module beside it, one port replaced
    moduleRef = await Test.createTestingModule({ imports: [PlatformModule.forRoot(runtime, { http: false, config: env }), GenerationModule] })
      .overrideProvider(AD_GENERATOR)
      .useValue(generator)
      .compile();
    await moduleRef.init();
  });
  after(async () => {
    await moduleRef.close();
    await rm(dir, { recursive: true, force: true });
  });

  const requestAd = async (seedPath: string): Promise<SingleAdCompleted> => {
    const requestId = randomUUID();
    const requestedAt = new Date().toISOString();
    await runtime.bus.publish(GenerationTopics.singleAdRequested, {
      key: requestId,
      value: { requestId, origin: 'direct', request: { tenant: 'acme', seedPath, brandPath: 'brands/acme/pack.png', headline: 'Hello' }, requestedAt },
    });
    await broker.whenIdle();
    const completed = broker
      .read(GenerationTopics.singleAdCompleted.name)
      .map((m) => JSON.parse(m.value) as SingleAdCompleted)
      .find((e) => e.requestId === requestId);
    assert.ok(completed, 'the outcome is announced');
    if (completed.ad) assert.equal(completed.ad.path, `ads/${singleAdKey('acme', requestedAt, requestId)}`);
    return completed;
  };

  it('renders a requested single ad with the overridden generator, at the configured size, into the ads bucket', async () => {
    const completed = await requestAd('seeds/acme/dog.jpg');
    assert.equal(completed.error, undefined);
    assert.ok(completed.ad, 'an ad, not an error');
    assert.equal(completed.ad.generator, 'recording');
    assert.equal(generator.requests.length, 1);
    assert.equal(generator.requests[0].size, 1100, 'ADSEED_AD_SIZE from the injected config');
    assert.equal(generator.requests[0].headline, 'Hello');
    assert.ok(generator.requests[0].seed.equals((await store.get('seeds', 'acme/dog.jpg')).body), 'the stored seed');
    const stored = await store.get('ads', completed.ad.path.slice('ads/'.length));
    assert.equal((await sharp(stored.body).metadata()).width, 1100);
    assert.equal(stored.info.metadata.generator, 'recording');
  });

  it("announces a missing seed as the caller's 404 without calling the generator", async () => {
    const calls = generator.requests.length;
    const completed = await requestAd('seeds/acme/missing.jpg');
    assert.equal(completed.error?.status, 404);
    assert.equal(completed.error?.code, 'not_found');
    assert.equal(generator.requests.length, calls);
  });

  it('puts the generator a composition passes to forRoot behind the port instead of the configured one', async () => {
    const chosen = new RecordingGenerator();
    const composed = await Test.createTestingModule({ imports: [GenerationModule.forRoot(runtime, env, { http: false }, chosen)] }).compile();
    const port = composed.get<AdGenerator>(AD_GENERATOR);
    assert.equal(port.name, 'recording');
    await port.generate({ seed: Buffer.alloc(0), brand: Buffer.alloc(0), size: 1080 });
    assert.equal(chosen.requests.length, 1);
    // not closed: RuntimeShutdown would close the runtime the suite still uses
  });
});
