import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { CommonEnv, loadConfig } from '@adseed/config';
import { MAX_SUBJECT_CHARS, Queries, type GenerateAdRequest, type QueryDef, type SearchHit, type SearchReply, type SingleAdCompleted } from '@adseed/contracts';
import { InProcessBroker, ServiceError } from '@adseed/messaging';
import { createRuntime, PlatformModule, QUERY_CLIENT, type QueryClient, type ServiceRuntime } from '@adseed/platform';
import { FsObjectStore } from '@adseed/storage';
import { Test, type TestingModule } from '@nestjs/testing';
import { AssetsService } from './assets.service';
import { CreateAdUseCase } from './create-ad.use-case';
import { GatewayEnv } from './gateway.env';
import { ApiError } from './http-errors';
import { ReviewService } from './review.service';
import { SingleAds, type RequestedAd } from './single-ads';

const hit = (path: string, caption?: string): SearchHit => ({
  rank: 1,
  assetId: 'a1',
  path,
  score: 0.9,
  scores: { clip: 0.9 },
  tags: [],
  belowFloor: false,
  ...(caption !== undefined ? { caption } : {}),
});

const completed = (result: Pick<SingleAdCompleted, 'ad'> | Pick<SingleAdCompleted, 'error'>): SingleAdCompleted => ({
  requestId: '2b1e6c1a-6a43-4c3e-9a57-0d7f4f3c9b11',
  origin: 'direct',
  tenant: 'acme',
  seedPath: 'seeds/acme/h/dog.jpg',
  completedAt: '2026-12-01T10:00:00.000Z',
  ...result,
});

/** The retrieval service as the use case sees it: one search reply, every call recorded. */
class FakeQueries implements QueryClient {
  readonly calls: { query: string; request: unknown }[] = [];
  hits: SearchHit[] = [];
  call<Req, Res>(query: QueryDef<Req, Res>, request: Req): Promise<Res> {
    this.calls.push({ query: query.method, request });
    if ((query as unknown) !== Queries.search) throw new Error(`unexpected query ${query.method}`);
    const reply: SearchReply = { hits: this.hits, encoders: {}, fusion: 'rrf', floor: {} };
    return Promise.resolve(reply as Res);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

describe(CreateAdUseCase.name, () => {
  let dir: string;
  let runtime: ServiceRuntime;
  let moduleRef: TestingModule;
  let useCase: CreateAdUseCase;
  const queries = new FakeQueries();
  const requested: { request: GenerateAdRequest; options: { origin: string; waitMs: number } }[] = [];
  let outcome: SingleAdCompleted | undefined;
  const marked: string[] = [];
  const brandChecks: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'adseed-create-ad-'));
    const store = new FsObjectStore(join(dir, 'objects'));
    runtime = await createRuntime('gateway', loadConfig(CommonEnv, { ADSEED_DATA_DIR: dir, LOG_LEVEL: 'error' }), {
      shared: { broker: new InProcessBroker(), store },
      sink: () => undefined,
    });
    moduleRef = await Test.createTestingModule({
      imports: [PlatformModule.forRoot(runtime, { http: false, config: loadConfig(GatewayEnv, { ADSEED_AD_WAIT_MS: '1234' }) })],
      providers: [
        CreateAdUseCase,
        {
          provide: SingleAds,
          useValue: {
            request: (request: GenerateAdRequest, options: { origin: string; waitMs: number }): Promise<RequestedAd> => {
              requested.push({ request, options });
              return Promise.resolve({ requestId: 'r1', path: 'ads/acme/2026-12-01/r1.png', ...(outcome ? { outcome } : {}) });
            },
          },
        },
        {
          provide: ReviewService,
          useValue: { mark: (_tenant: string, path: string) => (marked.push(path), Promise.resolve({ adId: 'ad1', status: 'approved' as const })) },
        },
        { provide: AssetsService, useValue: { assertBrandImage: (_tenant: string, path: string) => (brandChecks.push(path), Promise.resolve()) } },
      ],
    })
      .overrideProvider(QUERY_CLIENT)
      .useValue(queries)
      .compile();
    useCase = moduleRef.get(CreateAdUseCase);
  });
  beforeEach(() => {
    queries.calls.length = 0;
    queries.hits = [];
    requested.length = 0;
    marked.length = 0;
    brandChecks.length = 0;
    outcome = undefined;
  });
  after(async () => {
    await runtime.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('from a segment: searches the seed library, makes the ad from the best seed with its caption as subject, and marks it for review', async () => {
    queries.hits = [hit('seeds/acme/h/dog.jpg', 'a dog on a beach')];
    outcome = completed({
      ad: {
        path: 'ads/acme/2026-12-01/r1.png',
        seedPath: 'seeds/acme/h/dog.jpg',
        brandPath: 'brands/acme/p.png',
        generator: 'local',
        width: 1080,
        height: 1080,
        fidelity: 0.93,
      },
    });
    const created = await useCase.execute('acme', { segment: 'dog owners', brandPath: 'brands/acme/p.png', headline: 'Walk on' });

    assert.deepEqual(queries.calls, [
      { query: Queries.search.method, request: { tenant: 'acme', text: 'dog owners', k: 1, kind: 'seed', encoders: ['clip', 'caption'] } },
    ]);
    assert.deepEqual(brandChecks, ['brands/acme/p.png']);
    assert.equal(requested.length, 1);
    assert.deepEqual(requested[0].request, {
      tenant: 'acme',
      seedPath: 'seeds/acme/h/dog.jpg',
      brandPath: 'brands/acme/p.png',
      headline: 'Walk on',
      subject: 'a dog on a beach',
      segment: 'dog owners',
    });
    assert.deepEqual(requested[0].options, { origin: 'direct', waitMs: 1234 }, 'waits as long as the configuration says');
    assert.deepEqual(marked, ['ads/acme/2026-12-01/r1.png']);
    assert.deepEqual(created, {
      generating: false,
      ad: {
        path: 'ads/acme/2026-12-01/r1.png',
        url: '/v1/assets/content?path=ads%2Facme%2F2026-12-01%2Fr1.png',
        seedPath: 'seeds/acme/h/dog.jpg',
        brandPath: 'brands/acme/p.png',
        generator: 'local',
        subject: 'a dog on a beach',
        fidelity: 0.93,
        review: { adId: 'ad1', status: 'approved' },
      },
    });
  });

  it('from a seed: no search, no subject', async () => {
    const created = await useCase.execute('acme', { seedPath: 'seeds/acme/h/cat.jpg' });
    assert.deepEqual(queries.calls, []);
    assert.deepEqual(brandChecks, [], 'no brand image to check');
    assert.deepEqual(requested[0].request, { tenant: 'acme', seedPath: 'seeds/acme/h/cat.jpg' });
    assert.deepEqual(created, {
      generating: true,
      ad: { path: 'ads/acme/2026-12-01/r1.png', url: '/v1/assets/content?path=ads%2Facme%2F2026-12-01%2Fr1.png', seedPath: 'seeds/acme/h/cat.jpg' },
    });
    assert.deepEqual(marked, [], 'an ad still being made is not registered for review yet');
  });

  it('cuts a long caption to the generator’s subject length without splitting a surrogate pair', async () => {
    const caption = `${'a'.repeat(MAX_SUBJECT_CHARS - 1)}🐕 and more`;
    queries.hits = [hit('seeds/acme/h/dog.jpg', caption)];
    const created = await useCase.execute('acme', { segment: 'dog owners' });
    assert.equal(requested[0].request.subject, 'a'.repeat(MAX_SUBJECT_CHARS - 1));
    assert.ok(created.generating);
    assert.equal(created.ad.subject, 'a'.repeat(MAX_SUBJECT_CHARS - 1));
  });

  it('answers 404 no_seeds when nothing matches the segment, and requests no ad', async () => {
    await assert.rejects(
      useCase.execute('acme', { segment: 'unicorn tamers' }),
      (e: unknown) => e instanceof ApiError && e.status === 404 && e.code === 'no_seeds',
    );
    assert.deepEqual(requested, []);
  });

  it('passes on the generation service’s refusal with its status and code', async () => {
    outcome = completed({ error: { status: 422, code: 'unsupported_seed', message: 'the seed is too small' } });
    await assert.rejects(
      useCase.execute('acme', { seedPath: 'seeds/acme/h/tiny.jpg' }),
      (e: unknown) => e instanceof ServiceError && e.status === 422 && e.code === 'unsupported_seed',
    );
    assert.deepEqual(marked, []);
  });
});
