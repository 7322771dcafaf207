import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CommonEnv, loadConfig } from '@adseed/config';
import { GenerationTopics, singleAdKey, type SingleAdCompleted, type SingleAdRequested } from '@adseed/contracts';
import { InProcessBroker, type IncomingMessage } from '@adseed/messaging';
import { createRuntime, PlatformModule, type ServiceRuntime } from '@adseed/platform';
import { FsObjectStore } from '@adseed/storage';
import { Test } from '@nestjs/testing';
import sharp from 'sharp';
import { GenerationEnv } from './generation.env';
import { GenerationModule } from './generation.module';
import { AD_GENERATOR, type AdGenerator, type AdRequest, type GeneratedAd } from './generators/ad-generator.port';
import { LocalAdGenerator } from './generators/local-ad.generator';
import { SingleAdUseCase } from './single-ad.use-case';

/** The real local generator, counting its calls. */
class CountingGenerator implements AdGenerator {
  readonly name: string;
  calls = 0;
  constructor(private readonly inner: AdGenerator) {
    this.name = inner.name;
  }
  async generate(request: AdRequest): Promise<GeneratedAd> {
    this.calls++;
    return this.inner.generate(request);
  }
}

describe(SingleAdUseCase.name, () => {
  let dir: string;
  let broker: InProcessBroker;
  let runtime: ServiceRuntime;
  let generator: CountingGenerator;
  let useCase: SingleAdUseCase;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'adseed-single-ad-'));
    broker = new InProcessBroker();
    const store = new FsObjectStore(join(dir, 'objects'));
    runtime = await createRuntime('generation', loadConfig(CommonEnv, { ADSEED_DATA_DIR: dir, LOG_LEVEL: 'error' }), {
      shared: { broker, store },
      sink: () => undefined,
    });
    for (const bucket of ['seeds', 'brands', 'ads']) await store.ensureBucket(bucket);
    const seed = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#7a9' } })
      .jpeg()
      .toBuffer();
    await store.put('seeds', 'acme/dog.jpg', seed, { contentType: 'image/jpeg' });
    const brand = await sharp(
      Buffer.from(
        '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200"><rect width="200" height="200" fill="#fff"/><rect x="60" y="30" width="80" height="140" fill="#c33"/></svg>',
      ),
    )
      .png()
      .toBuffer();
    await store.put('brands', 'acme/pack.png', brand, { contentType: 'image/png' });
    generator = new CountingGenerator(new LocalAdGenerator());
    // the use case as the generation module builds it, the counting generator behind the port
    const moduleRef = await Test.createTestingModule({
      imports: [PlatformModule.forRoot(runtime, { http: false, config: loadConfig(GenerationEnv, {}) }), GenerationModule],
    })
      .overrideProvider(AD_GENERATOR)
      .useValue(generator)
      .compile();
    useCase = moduleRef.get(SingleAdUseCase);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const request = (): SingleAdRequested => ({
    requestId: randomUUID(),
    origin: 'direct',
    request: { tenant: 'acme', seedPath: 'seeds/acme/dog.jpg', brandPath: 'brands/acme/pack.png', subject: 'a dog' },
    requestedAt: new Date().toISOString(),
  });
  const message = (value: SingleAdRequested, offset: number, attempt = 1): IncomingMessage<SingleAdRequested> => ({
    topic: GenerationTopics.singleAdRequested.name,
    partition: 0,
    offset,
    key: value.requestId,
    value,
    attempt,
    headers: {},
  });
  /** What the use case announced on single-ad-completed for a request. */
  const announced = (requestId: string) =>
    broker
      .read(GenerationTopics.singleAdCompleted.name)
      .map((m) => JSON.parse(m.value) as SingleAdCompleted)
      .filter((c) => c.requestId === requestId);

  it('a redelivered request renders once and announces the same ad twice', async () => {
    const value = request();
    const calls = generator.calls;
    await useCase.execute(message(value, 0));
    // the same message delivered again (at least once: a crash or a rebalance before the commit)
    await useCase.execute(message(value, 0));
    assert.equal(generator.calls, calls + 1, 'rendered once');
    const [first, second] = announced(value.requestId);
    assert.equal(announced(value.requestId).length, 2, 'each delivery announces the outcome');
    assert.ok(first?.ad && !first.error, JSON.stringify(first));
    assert.equal(first.ad.path, `ads/${singleAdKey('acme', value.requestedAt, value.requestId)}`);
    assert.deepEqual(first.ad, {
      path: first.ad.path,
      seedPath: 'seeds/acme/dog.jpg',
      brandPath: 'brands/acme/pack.png',
      generator: generator.name,
      width: 1080,
      height: 1080,
      ...(first.ad.fidelity !== undefined ? { fidelity: first.ad.fidelity } : {}),
    });
    // the second announcement is rebuilt from the stored ad: the same reply
    assert.deepEqual(second?.ad, first.ad);
    assert.equal(second.error, undefined);
  });

  it('renders again when the object at the key lacks the metadata a reply needs (written before its size was recorded)', async () => {
    const value = request();
    const key = singleAdKey('acme', value.requestedAt, value.requestId);
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } })
      .png()
      .toBuffer();
    await runtime.store.put('ads', key, png, {
      contentType: 'image/png',
      metadata: { tenant: 'acme', seed: 'seeds/acme/dog.jpg', brand: 'brands/acme/pack.png', generator: 'local' },
    });
    const calls = generator.calls;
    await useCase.execute(message(value, 1));
    assert.equal(generator.calls, calls + 1);
    const [done] = announced(value.requestId);
    assert.equal(done?.ad?.width, 1080);
    assert.equal((await runtime.store.stat('ads', key))?.metadata.width, '1080', 'the new render records its size');
  });

  it('two different requests for the same seed are two renders', async () => {
    const calls = generator.calls;
    const a = request();
    const b = request();
    await useCase.execute(message(a, 2));
    await useCase.execute(message(b, 3));
    assert.equal(generator.calls, calls + 2);
    assert.notEqual(announced(a.requestId)[0]?.ad?.path, announced(b.requestId)[0]?.ad?.path);
  });
});
