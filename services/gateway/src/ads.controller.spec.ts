import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { CreateAdBody } from '@adseed/contracts';
import { LOGGER } from '@adseed/platform';
import type { CallHandler, ExecutionContext, INestApplication } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { AdsController } from './ads.controller';
import { CreateAdUseCase, type CreatedAd } from './create-ad.use-case';
import { HttpErrorFilter } from './http-error.filter';
import { ApiError } from './http-errors';
import { TenantGuard } from './tenant.guard';
import { TextGuardrailInterceptor } from './text-guardrail.interceptor';

const AD_PATH = 'ads/acme/2026-12-01/r1.png';
const AD_URL = '/v1/assets/content?path=ads%2Facme%2F2026-12-01%2Fr1.png';

/** `POST /v1/ads` over HTTP, with the use case replaced: what the controller validates and how it shapes each outcome. */
describe(AdsController.name, () => {
  let app: INestApplication;
  let url: string;
  const calls: { tenant: string; body: CreateAdBody }[] = [];
  let answer: () => Promise<CreatedAd>;
  const errors: unknown[] = [];

  before(async () => {
    const moduleRef = await Test.createTestingModule({
      controllers: [AdsController],
      providers: [
        CreateAdUseCase,
        { provide: APP_FILTER, useClass: HttpErrorFilter },
        { provide: LOGGER, useValue: { error: (_message: string, fields: unknown) => errors.push(fields) } },
      ],
    })
      .overrideProvider(CreateAdUseCase)
      .useValue({
        execute: (tenant: string, body: CreateAdBody) => {
          calls.push({ tenant, body });
          return answer();
        },
      })
      // Authentication and moderation have their own specs: here every caller is tenant acme, every text passes.
      .overrideGuard(TenantGuard)
      .useValue({
        canActivate: (context: ExecutionContext) => {
          context.switchToHttp().getRequest<{ tenant?: string }>().tenant = 'acme';
          return true;
        },
      })
      .overrideInterceptor(TextGuardrailInterceptor)
      .useValue({ intercept: (_context: ExecutionContext, next: CallHandler) => next.handle() })
      .compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    url = `${await app.getUrl()}/v1/ads`;
  });
  beforeEach(() => {
    calls.length = 0;
    errors.length = 0;
  });
  after(() => app?.close());

  const post = (body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('answers 201 with the ad when it was made within the wait', async () => {
    const ad = { path: AD_PATH, url: AD_URL, seedPath: 'seeds/acme/h/dog.jpg', brandPath: 'brands/acme/p.png', generator: 'local' };
    answer = () => Promise.resolve({ generating: false, ad });
    const res = await post({ seedPath: 'seeds/acme/h/dog.jpg', headline: '  Walk on  ' });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('location'), null);
    assert.deepEqual(await res.json(), { ad });
    assert.deepEqual(
      calls,
      [{ tenant: 'acme', body: { seedPath: 'seeds/acme/h/dog.jpg', headline: 'Walk on' } }],
      'the parsed body (trimmed), for the caller’s tenant',
    );
  });

  it('answers 202 with where the ad will be, also as Location, while it is still being made', async () => {
    answer = () => Promise.resolve({ generating: true, ad: { path: AD_PATH, url: AD_URL, seedPath: 'seeds/acme/h/dog.jpg', subject: 'a dog' } });
    const res = await post({ segment: 'dog owners' });
    assert.equal(res.status, 202);
    assert.equal(res.headers.get('location'), AD_URL);
    assert.deepEqual(await res.json(), { status: 'generating', ad: { path: AD_PATH, url: AD_URL, seedPath: 'seeds/acme/h/dog.jpg', subject: 'a dog' } });
  });

  it('refuses a body with both a segment and a seed before the use case runs', async () => {
    const res = await post({ segment: 'dog owners', seedPath: 'seeds/acme/h/dog.jpg' });
    assert.equal(res.status, 400);
    const { error } = (await res.json()) as { error: { code: string; issues: { field: string }[] } };
    assert.equal(error.code, 'validation_failed');
    assert.deepEqual(
      error.issues.map((i) => i.field),
      ['segment'],
    );
    assert.deepEqual(calls, []);
  });

  it('passes the use case’s errors through the error filter', async () => {
    answer = () => Promise.reject(new ApiError(404, 'no_seeds', 'the seed library has nothing for this segment yet'));
    const res = await post({ segment: 'unicorn tamers' });
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'no_seeds');
    assert.deepEqual(errors, [], 'a 4xx is not logged as a failure');
  });
});
