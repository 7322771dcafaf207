import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FlaggedAdGenerator, triggerSeed } from './flagged-ad.generator';
import { startTestApp, type TestApp } from './harness';
import { brandPack, scene } from './job-fixtures';

type Json = Record<string, any>;

const KEYS = 'k-mk:shop:marketer:mia,k-rv:shop:reviewer:rob,k-ad:shop:admin:ada';

/**
 * The image guardrail on generated ads: a generator behind the product's port (a test one that
 * returns an image the real nsfwjs classifier flags for magenta seeds) makes single, job and
 * conversation ads; the gateway classifies each ad when it first sees it, before anyone can
 * fetch it. A flagged ad waits for a reviewer as `flagged` with the category, is refused to
 * marketers and never listed to them; an ordinary ad of the same run is approved as before.
 */
describe('image guardrail on every generated ad (nsfwjs, embedded mode, end to end)', { timeout: 600_000 }, () => {
  let app: TestApp;
  let brandPath = '';
  let magenta = '';
  let ordinary = '';
  const as =
    (key: string) =>
    (path: string, init: RequestInit & { json?: unknown } = {}) => {
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${key}`);
      return app.api(path, { ...init, headers });
    };
  const json = async (res: Response, status: number): Promise<Json> => {
    const body = (await res.json()) as Json;
    assert.equal(res.status, status, JSON.stringify(body));
    return body;
  };
  const uploadAs = async (key: string, bytes: Buffer, name: string, fields: Record<string, string>): Promise<Json> => {
    const form = new FormData();
    form.set('file', new Blob([new Uint8Array(bytes)]), name);
    for (const [k, v] of Object.entries(fields)) form.set(k, v);
    return json(await as(key)('/v1/assets', { method: 'POST', body: form }), 201);
  };

  before(async () => {
    app = await startTestApp({ generator: new FlaggedAdGenerator(), env: { ADSEED_IMAGE_GUARDRAIL: 'nsfwjs', ADSEED_API_KEYS: KEYS } });
    await app.demoLibrary; // its brand pack is written in the background: let it finish before stop() removes the folder
    brandPath = (await uploadAs('k-mk', await brandPack(), 'pack.png', { kind: 'brand' })).asset.path;
    const seeds = [
      await uploadAs('k-mk', await triggerSeed(), 'flamingo.png', { caption: 'a pink flamingo standing on a lawn' }),
      await uploadAs('k-mk', await scene([200, 120, 60], [900, 600], 1), 'surfboard.jpg', { caption: 'an outdoor surfboard on a sunny beach' }),
    ];
    // The seeds themselves pass the upload guardrail: only what the generator makes of one is flagged.
    assert.deepEqual(
      seeds.map((s) => s.ingest),
      ['queued', 'queued'],
    );
    [magenta, ordinary] = seeds.map((s) => s.asset.path as string);
    await app.whenIdle();
  });
  after(() => app?.stop());

  let flaggedAd: Json;

  it('POST /v1/ads: the flagged ad is `flagged` with its category, refused to a marketer, shown to a reviewer', async () => {
    const { ad } = await json(await as('k-mk')('/v1/ads', { method: 'POST', json: { seedPath: magenta, brandPath } }), 201);
    flaggedAd = ad;
    assert.equal(ad.review.status, 'flagged');
    assert.deepEqual(ad.review.flags, ['porn']);
    const refused = await json(await as('k-mk')(ad.url), 403);
    assert.equal(refused.error.code, 'not_approved');
    assert.match(refused.error.message, /flagged by the image guardrail/);
    assert.equal((await as('k-mk')(`/v1/assets/url?path=${encodeURIComponent(ad.path)}`)).status, 403);
    const bytes = await as('k-rv')(ad.url);
    assert.equal(bytes.status, 200);
    assert.equal(bytes.headers.get('content-type'), 'image/png');

    const { items } = await json(await as('k-rv')('/v1/reviews?status=flagged'), 200);
    const review = items.find((r: Json) => r.adId === ad.review.adId);
    assert.ok(review, 'listed in the flagged queue');
    assert.equal(review.moderation.model, 'nsfwjs:MobileNetV2');
    assert.deepEqual(review.moderation.reasons, ['porn']);
    assert.ok(review.moderation.scores.porn >= 0.7, `porn ${review.moderation.scores.porn}`);
    assert.ok(
      review.needsReviewBecause.some((r: string) => /image guardrail .* flagged it: porn/.test(r)),
      review.needsReviewBecause.join('; '),
    );
    const pending = await json(await as('k-rv')('/v1/reviews?status=pending'), 200);
    assert.equal(
      pending.items.some((r: Json) => r.adId === ad.review.adId),
      false,
      'flagged is its own status',
    );
  });

  it('an ordinary ad made by the same generator in the same run passes and is approved', async () => {
    const { ad } = await json(await as('k-mk')('/v1/ads', { method: 'POST', json: { seedPath: ordinary, brandPath } }), 201);
    assert.equal(ad.review.status, 'approved');
    assert.equal(ad.review.flags, undefined);
    assert.equal((await as('k-mk')(ad.url)).status, 200);
    const { items } = await json(await as('k-rv')('/v1/reviews?status=approved'), 200);
    const review = items.find((r: Json) => r.adId === ad.review.adId);
    assert.equal(review.moderation.flagged, false);
    assert.ok(review.moderation.scores.porn < 0.7);
  });

  it('flagged ads are not listed to a marketer: GET /v1/assets?kind=ad', async () => {
    const mine = await json(await as('k-mk')('/v1/assets?kind=ad&limit=500'), 200);
    const reviewers = await json(await as('k-rv')('/v1/assets?kind=ad&limit=500'), 200);
    assert.equal(
      mine.items.some((a: Json) => a.path === flaggedAd.path),
      false,
    );
    assert.equal(
      reviewers.items.some((a: Json) => a.path === flaggedAd.path),
      true,
    );
    assert.equal(reviewers.items.length - mine.items.length, 1, 'only the flagged ad is left out');
  });

  it('job ads: a marketer sees the flagged one as a `withheld` failure, a reviewer as a flagged ad', async () => {
    const created = await json(
      await as('k-mk')('/v1/jobs', { method: 'POST', json: { brandPath, seedPaths: [magenta, ordinary], formats: ['1:1', '4:5'], variants: 1 } }),
      202,
    );
    let job: Json = created.job;
    for (let i = 0; i < 600 && job.status !== 'done' && job.status !== 'failed'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      job = (await json(await as('k-mk')(`/v1/jobs/${job.id}`), 200)).job;
    }
    assert.equal(job.status, 'done', JSON.stringify(job.failures));
    const seen = (await json(await as('k-rv')(`/v1/jobs/${job.id}`), 200)).job;
    assert.equal(seen.ads.length, 4);
    const flagged = seen.ads.filter((a: Json) => a.review.status === 'flagged');
    assert.deepEqual(
      flagged.map((a: Json) => a.seedPath),
      [magenta, magenta],
    );
    assert.ok(flagged.every((a: Json) => a.review.flags[0] === 'porn'));
    assert.ok(seen.ads.filter((a: Json) => a.seedPath === ordinary).every((a: Json) => a.review.status === 'approved'));

    assert.deepEqual(
      job.ads.map((a: Json) => a.seedPath),
      [ordinary, ordinary],
    );
    assert.deepEqual(job.progress, { done: 2, failed: 2, total: 4 });
    assert.deepEqual(
      job.failures.map((f: Json) => [f.code, f.seedPath]),
      [
        ['withheld', magenta],
        ['withheld', magenta],
      ],
    );
    assert.match(job.failures[0].reason, /image guardrail flagged this ad \(porn\)/);
    for (const ad of flagged) assert.equal((await as('k-mk')(ad.url)).status, 403);

    // The job's SSE stream shows the marketer the same.
    const stream = await as('k-mk')(`/v1/jobs/${job.id}/events`);
    const text = await stream.text();
    const last = JSON.parse(
      text
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .at(-1)!
        .slice(6),
    ) as Json;
    assert.equal(last.ads.length, 2);
    assert.equal(last.failures.filter((f: Json) => f.code === 'withheld').length, 2);
  });

  it('conversation ads: flagged, with the category, and refused to the marketer', async () => {
    let c = await json(await as('k-mk')('/v1/conversations', { method: 'POST', json: { segment: 'pink flamingo', brandPath } }), 201);
    const reply = async (text: string) => json(await as('k-mk')(`/v1/conversations/${c.id}/messages`, { method: 'POST', json: { text } }), 200);
    for (let turn = 0; c.status !== 'done' && turn < 6; turn++) {
      const index = c.seeds.findIndex((s: Json) => s.path === magenta);
      if (c.status === 'awaiting-seed' && index >= 0 && index !== c.seedIndex)
        c = await json(await as('k-mk')(`/v1/conversations/${c.id}/seed`, { method: 'POST', json: { index } }), 200);
      else c = await reply('yes');
    }
    assert.equal(c.ad.seedPath, magenta);
    assert.equal(c.status, 'done', JSON.stringify(c.messages?.at(-1)));
    assert.equal(c.ad.review.status, 'flagged');
    assert.deepEqual(c.ad.review.flags, ['porn']);
    assert.equal((await as('k-mk')(c.ad.url)).status, 403);
    assert.equal((await as('k-rv')(c.ad.url)).status, 200);
  });

  it('a reviewer who overrides the classifier approves the ad; the audit log has both decisions', async () => {
    const decided = await json(await as('k-rv')(`/v1/ads/${flaggedAd.review.adId}/review`, { method: 'POST', json: { decision: 'approve' } }), 200);
    assert.equal(decided.review.status, 'approved');
    assert.equal(decided.review.decidedBy, 'rob');
    assert.deepEqual(decided.review.moderation.reasons, ['porn'], 'the verdict stays on the record');
    assert.equal((await as('k-mk')(flaggedAd.url)).status, 200);
    const { items } = await json(await as('k-ad')('/v1/audit?limit=500'), 200);
    const about = items.filter((e: Json) => e.action.startsWith('review.') && (e.target === flaggedAd.path || e.details?.adId === flaggedAd.review.adId));
    assert.deepEqual(
      about.map((e: Json) => [e.action, e.actor]),
      [
        ['review.flagged', 'image-guardrail'],
        ['review.decided', 'rob'],
      ],
    );
    assert.equal(about[0].details.reasons, 'porn');
  });
});

describe('image guardrail thresholds apply to generated ads', { timeout: 300_000 }, () => {
  let app: TestApp;
  after(() => app?.stop());

  it('with no threshold on "porn" (ADSEED_NSFW_THRESHOLDS=sexy:0.9) the same ad is not flagged', async () => {
    app = await startTestApp({ generator: new FlaggedAdGenerator(), env: { ADSEED_IMAGE_GUARDRAIL: 'nsfwjs', ADSEED_NSFW_THRESHOLDS: 'sexy:0.9' } });
    await app.demoLibrary;
    const put = async (bytes: Buffer, name: string, kind: string) => {
      const form = new FormData();
      form.set('file', new Blob([new Uint8Array(bytes)]), name);
      form.set('kind', kind);
      return ((await (await app.api('/v1/assets', { method: 'POST', body: form })).json()) as Json).asset.path as string;
    };
    const brand = await put(await brandPack(), 'pack.png', 'brand');
    const seed = await put(await triggerSeed(), 'flamingo.png', 'seed');
    await app.whenIdle();
    const res = await app.api('/v1/ads', { method: 'POST', json: { seedPath: seed, brandPath: brand } });
    const { ad } = (await res.json()) as Json;
    assert.equal(res.status, 201);
    assert.notEqual(ad.review.status, 'flagged');
    const { items } = (await (await app.api('/v1/reviews?status=' + ad.review.status)).json()) as Json;
    const review = items.find((r: Json) => r.adId === ad.review.adId);
    assert.ok(review.moderation.scores.porn >= 0.7, 'the classifier still scores it; no threshold makes it a reason');
    assert.deepEqual(review.moderation.reasons, []);
  });
});
