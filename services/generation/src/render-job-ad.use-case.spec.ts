import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CommonEnv, loadConfig } from '@adseed/config';
import { AdProvenance, BrandKitKeys, JobAdKeys, JobStateKeys, JobTopics, newJobId, type AdRequested, type BrandKit } from '@adseed/contracts';
import { DEFAULT_RETRY, InProcessBroker, type IncomingMessage } from '@adseed/messaging';
import { createRuntime, PlatformModule, type ServiceRuntime } from '@adseed/platform';
import { FsObjectStore } from '@adseed/storage';
import { Test } from '@nestjs/testing';
import sharp from 'sharp';
import { GenerationEnv } from './generation.env';
import { GenerationModule } from './generation.module';
import { AD_GENERATOR, type AdGenerator, type AdRequest, type GeneratedAd } from './generators/ad-generator.port';
import { LocalAdGenerator } from './generators/local-ad.generator';
import { RenderJobAdUseCase } from './render-job-ad.use-case';
import { DistortingAdGenerator } from './fidelity/distorting.generator';

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

  /** The use case as the generation module builds it, with `generator` behind the port and a fixed clock. */
  const useCaseWith = async (generator: AdGenerator): Promise<RenderJobAdUseCase> => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        PlatformModule.forRoot(runtime, { http: false, config: loadConfig(GenerationEnv, {}), clock: () => new Date('2026-12-01T00:00:00Z') }),
        GenerationModule,
      ],
    })
      .overrideProvider(AD_GENERATOR)
      .useValue(generator)
      .compile();
    return moduleRef.get(RenderJobAdUseCase);
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'adseed-render-job-ad-'));
    broker = new InProcessBroker();
    const store = new FsObjectStore(join(dir, 'objects'));
    runtime = await createRuntime('generation', loadConfig(CommonEnv, { ADSEED_DATA_DIR: dir, LOG_LEVEL: 'error' }), {
      shared: { broker, store },
      sink: () => undefined,
    });
    for (const bucket of ['seeds', 'brands', 'ads', 'state']) await store.ensureBucket(bucket);
    const seed = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#7a9' } })
      .jpeg()
      .toBuffer();
    await store.put('seeds', 'acme/dog.jpg', seed, { contentType: 'image/jpeg', metadata: { licence: 'CC-BY-4.0', attribution: 'A. Photographer' } });
    const brand = await sharp(
      Buffer.from(
        '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200"><rect width="200" height="200" fill="#fff"/><rect x="60" y="30" width="80" height="140" fill="#c33"/></svg>',
      ),
    )
      .png()
      .toBuffer();
    await store.put('brands', 'acme/pack.png', brand, { contentType: 'image/png' });
    generator = new CountingGenerator(new LocalAdGenerator());
    useCase = await useCaseWith(generator);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const request = (overrides: Partial<AdRequested> = {}): AdRequested => {
    const jobId = newJobId(new Date(), (seq++).toString(16).padStart(8, '0'));
    return {
      jobId,
      tenant: 'acme',
      index: 0,
      total: 1,
      format: '4:5',
      width: 1080,
      height: 1350,
      variant: 1,
      look: 0,
      segment: 'dog owners',
      subject: 'a dog',
      seedPath: 'seeds/acme/dog.jpg',
      brandPath: 'brands/acme/pack.png',
      scores: { score: 0.5, clip: 0.3, rank: 0 },
      adPath: `ads/${JobAdKeys.image('acme', jobId, 0, '4:5', 1)}`,
      provenancePath: `ads/${JobAdKeys.provenance('acme', jobId, 0, '4:5', 1)}`,
      requestedAt: new Date().toISOString(),
      ...overrides,
    };
  };
  const message = (value: AdRequested, attempt = 1): IncomingMessage<AdRequested> => ({
    topic: JobTopics.adRequested.name,
    partition: 0,
    offset: 0,
    key: `${value.jobId}:${value.index}`,
    value,
    attempt,
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
    assert.equal(provenance.createdAt, '2026-12-01T00:00:00.000Z', 'the injected clock');
    assert.equal(provenance.renderedBy.service, 'generation');
    assert.deepEqual(provenance.scores, { score: 0.5, clip: 0.3, rank: 0 });
    assert.match(provenance.warnings.join(), /enlarged 2\.\d×/, '640×480 filling 1080×1350 is 2.8×');

    const second = await useCase.execute(message(value, 2));
    assert.equal(generator.calls, calls + 1, 'not rendered again');
    assert.ok(second.kind === 'generated' && second.event.reused);
    assert.ok((await runtime.store.get('ads', value.adPath.slice(4))).body.equals(png.body));
    const announced = broker
      .read(JobTopics.adGenerated.name)
      .map((m) => JSON.parse(m.value))
      .filter((e) => e.jobId === value.jobId);
    assert.deepEqual(
      announced.map((e) => e.reused),
      [false, true],
    );
  });

  it('records product fidelity in the provenance, the object metadata and the event: near 1 intact, low when the pack is spoiled', async () => {
    const intact = request();
    await useCase.execute(message(intact));
    const spoiling = await useCaseWith(new DistortingAdGenerator(new LocalAdGenerator(), 'recolour'));
    const spoiled = request();
    await spoiling.execute(message(spoiled));
    const read = async (r: AdRequested) => ({
      provenance: JSON.parse((await runtime.store.get('ads', r.provenancePath.slice(4))).body.toString('utf8')),
      metadata: (await runtime.store.stat('ads', r.adPath.slice(4)))!.metadata,
      event: broker
        .read(JobTopics.adGenerated.name)
        .map((m) => JSON.parse(m.value))
        .find((e) => e.jobId === r.jobId),
    });
    const good = await read(intact);
    const bad = await read(spoiled);
    assert.equal(good.provenance.fidelity.located, 'placement');
    assert.deepEqual(good.provenance.fidelity.region, good.provenance.brand.placement);
    assert.ok(good.provenance.fidelity.score >= 0.95, `intact ${good.provenance.fidelity.score}`);
    assert.ok(bad.provenance.fidelity.score < 0.8, `recoloured ${bad.provenance.fidelity.score}`);
    assert.equal(Number(good.metadata.fidelity), good.provenance.fidelity.score);
    assert.equal(bad.event.fidelity, bad.provenance.fidelity.score);
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
    const max = DEFAULT_RETRY.maxAttempts;
    assert.equal(useCase.maxAttempts, max, 'the bus’s own limit');
    generator.failNext = max;
    for (let attempt = 1; attempt < max; attempt++) await assert.rejects(useCase.execute(message(value, attempt)), /disk on fire/);
    const last = await useCase.execute(message(value, max));
    assert.ok(last.kind === 'failed');
    assert.match(last.event.reason, new RegExp(`gave up after ${max} attempts: disk on fire`));
    assert.equal(await runtime.store.stat('ads', value.provenancePath.slice(4)), undefined);
  });

  it('makes the ad with the brand-kit version the job pinned and names it in the provenance; a missing version fails the ad', async () => {
    const font = await readFile(require.resolve('@fontsource/lobster/files/lobster-latin-400-normal.woff2'));
    const logo = await sharp(
      Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="200" height="80"><rect width="200" height="80" fill="#ff00ff"/></svg>'),
    )
      .png()
      .toBuffer();
    await runtime.store.put('brands', 'acme/logo.png', logo, { contentType: 'image/png' });
    const fontKey = BrandKitKeys.font('acme', 'a'.repeat(64), 'woff2');
    await runtime.store.put('state', fontKey, font, { contentType: 'font/woff2' });
    const kit = (version: number, primary: string): BrandKit => ({
      tenant: 'acme',
      version,
      colours: { primary, secondary: '#ffffff', text: '#ffffff' },
      font: { path: `state/${fontKey}`, family: 'Lobster', name: 'Lobster Regular', format: 'woff2', bytes: font.length, sha256: 'a'.repeat(64) },
      logoPath: 'brands/acme/logo.png',
      updatedAt: '2026-12-01T00:00:00Z',
    });
    for (const k of [kit(1, '#0a7d4f'), kit(2, '#c0392b')])
      await runtime.store.put('state', BrandKitKeys.version('acme', k.version), Buffer.from(JSON.stringify(k)), { contentType: 'application/json' });
    await runtime.store.put('state', BrandKitKeys.current('acme'), Buffer.from(JSON.stringify(kit(2, '#c0392b'))), { contentType: 'application/json' });

    const value = request({ format: '1:1', width: 1080, height: 1080, callToAction: 'Shop now', brandKitVersion: 1 });
    const outcome = await useCase.execute(message(value));
    assert.equal(outcome.kind, 'generated');
    const provenance = AdProvenance.parse(JSON.parse((await runtime.store.get('ads', value.provenancePath.slice(4))).body.toString('utf8')));
    assert.equal(provenance.brandKit?.version, 1, 'the pinned version, not the current one');
    assert.deepEqual(provenance.brandKit?.colours, kit(1, '#0a7d4f').colours);
    assert.equal(provenance.brandKit?.font?.name, 'Lobster Regular');
    assert.equal(provenance.brandKit?.logoPath, 'brands/acme/logo.png');
    assert.ok(provenance.brandKit?.logoPlacement);
    const png = await runtime.store.get('ads', value.adPath.slice(4));
    assert.equal(png.info.metadata['brand-kit-version'], '1');
    const { data } = await sharp(png.body).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    let green = 0;
    for (let i = 0; i < data.length; i += 3) if (data[i] === 0x0a && data[i + 1] === 0x7d && data[i + 2] === 0x4f) green++;
    assert.ok(green > 5000, `${green} pixels of the pinned kit's primary colour`);

    const missing = request({ brandKitVersion: 9 });
    const failed = await useCase.execute(message(missing));
    assert.ok(failed.kind === 'failed');
    assert.equal(failed.event.code, 'brand_kit_not_found');
  });
});
