import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CommonEnv, loadConfig } from '@adseed/config';
import { JobAdKeys, JobStateKeys, JobTopics, newJobId, type AdRequested } from '@adseed/contracts';
import { InProcessBroker, type IncomingMessage } from '@adseed/messaging';
import { createRuntime, type ServiceRuntime } from '@adseed/platform';
import { FsObjectStore } from '@adseed/storage';
import sharp from 'sharp';
import type { AdGenerator, AdRequest, GeneratedAd } from './generators/ad-generator.port';
import { LocalAdGenerator } from './generators/local-ad.generator';
import { RenderJobAdUseCase } from './render-job-ad.use-case';

/** The real local generator, counting its calls. */
class CountingGenerator implements AdGenerator {
  readonly name: string;
  calls = 0;
  failNext = 0;
  constructor(private readonly inner: AdGenerator) {
    this.name = inner.name;
  }
  async generate(request: AdRequest): Promise<GeneratedAd> {
    this.calls++;
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('disk on fire');
    }
    return this.inner.generate(request);
  }
}

describe(RenderJobAdUseCase.name, () => {
  let dir: string;
  let runtime: ServiceRuntime;
  let broker: InProcessBroker;
  let generator: CountingGenerator;
  let useCase: RenderJobAdUseCase;
  let seq = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'adseed-render-job-ad-'));
    broker = new InProcessBroker();
    const store = new FsObjectStore(join(dir, 'objects'));
    runtime = await createRuntime('generation', loadConfig(CommonEnv, { ADSEED_DATA_DIR: dir, LOG_LEVEL: 'error' }), { shared: { broker, store }, sink: () => undefined });
    for (const bucket of ['seeds', 'brands', 'ads', 'state']) await store.ensureBucket(bucket);
    const seed = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#7a9' } }).jpeg().toBuffer();
    await store.put('seeds', 'acme/dog.jpg', seed, { contentType: 'image/jpeg', metadata: { licence: 'CC-BY-4.0', attribution: 'A. Photographer' } });
    const brand = await sharp(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200"><rect width="200" height="200" fill="#fff"/><rect x="60" y="30" width="80" height="140" fill="#c33"/></svg>')).png().toBuffer();
    await store.put('brands', 'acme/pack.png', brand, { contentType: 'image/png' });
    generator = new CountingGenerator(new LocalAdGenerator());
    useCase = new RenderJobAdUseCase(runtime, generator, { generatorKind: 'local', stateBucket: 'state', maxAttempts: 3, now: () => new Date('2026-12-01T00:00:00Z') });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const request = (overrides: Partial<AdRequested> = {}): AdRequested => {
    const jobId = newJobId(new Date(), (seq++).toString(16).padStart(8, '0'));
    return {
      jobId, tenant: 'acme', index: 0, total: 1, format: '4:5', width: 1080, height: 1350, variant: 1, look: 0,
      segment: 'dog owners', subject: 'a dog', seedPath: 'seeds/acme/dog.jpg', brandPath: 'brands/acme/pack.png',
      scores: { score: 0.5, clip: 0.3, rank: 0 },
      adPath: `ads/${JobAdKeys.image('acme', jobId, 0, '4:5', 1)}`, provenancePath: `ads/${JobAdKeys.provenance('acme', jobId, 0, '4:5', 1)}`,
      requestedAt: new Date().toISOString(), ...overrides,
    };
  };
  const message = (value: AdRequested, attempt = 1): IncomingMessage<AdRequested> => ({
    topic: JobTopics.adRequested.name, partition: 0, offset: 0, key: `${value.jobId}:${value.index}`, value, attempt,
    headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
  });

  it('renders once, writes the PNG and its provenance, and announces it; a redelivery re-announces without rendering', async () => {
    const value = request();
    const calls = generator.calls;
    const first = await useCase.execute(message(value));
    assert.equal(first.kind, 'generated');
    assert.equal(generator.calls, calls + 1);
    const png = await runtime.store.get('ads', value.adPath.slice(4));
    assert.deepEqual([(await sharp(png.body).metadata()).width, (await sharp(png.body).metadata()).height], [1080, 1350]);
    const provenance = JSON.parse((await runtime.store.get('ads', value.provenancePath.slice(4))).body.toString('utf8'));
    assert.equal(provenance.seed.licence, 'CC-BY-4.0');
    assert.equal(provenance.seed.attribution, 'A. Photographer');
    assert.equal(provenance.traceId, '0af7651916cd43dd8448eb211c80319c');
    assert.deepEqual(provenance.scores, { score: 0.5, clip: 0.3, rank: 0 });
    assert.match(provenance.warnings.join(), /enlarged 2\.\d×/, '640×480 filling 1080×1350 is 2.8×');

    const second = await useCase.execute(message(value, 2));
    assert.equal(generator.calls, calls + 1, 'not rendered again');
    assert.ok(second.kind === 'generated' && second.event.reused);
    assert.ok((await runtime.store.get('ads', value.adPath.slice(4))).body.equals(png.body));
    const announced = broker.read(JobTopics.adGenerated.name).map((m) => JSON.parse(m.value)).filter((e) => e.jobId === value.jobId);
    assert.deepEqual(announced.map((e) => e.reused), [false, true]);
  });

  it('skips the ads of a cancelled job', async () => {
    const value = request();
    await runtime.store.put('state', JobStateKeys.cancel('acme', value.jobId), Buffer.from('{}'), { contentType: 'application/json' });
    const calls = generator.calls;
    assert.equal((await useCase.execute(message(value))).kind, 'skipped');
    assert.equal(generator.calls, calls);
    assert.equal(await runtime.store.stat('ads', value.adPath.slice(4)), undefined);
  });

  it("fails the ad (not the job) for a missing seed, another tenant's seed, or another generator", async () => {
    for (const [overrides, code] of [
      [{ seedPath: 'seeds/acme/missing.jpg' }, 'not_found'],
      [{ seedPath: 'seeds/other/dog.jpg' }, 'not_found'],
      [{ generator: 'replicate' as const }, 'generator_unavailable'],
    ] as const) {
      const outcome = await useCase.execute(message(request(overrides)));
      assert.ok(outcome.kind === 'failed', JSON.stringify(outcome));
      assert.equal(outcome.event.code, code);
    }
  });

  it('lets the bus retry a transient fault, and fails the ad on the last delivery', async () => {
    const value = request();
    generator.failNext = 3;
    await assert.rejects(useCase.execute(message(value, 1)), /disk on fire/);
    await assert.rejects(useCase.execute(message(value, 2)), /disk on fire/);
    const last = await useCase.execute(message(value, 3));
    assert.ok(last.kind === 'failed');
    assert.match(last.event.reason, /gave up after 3 attempts: disk on fire/);
    assert.equal(await runtime.store.stat('ads', value.provenancePath.slice(4)), undefined);
  });
});
