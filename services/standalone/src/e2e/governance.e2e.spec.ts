import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { PNG_SIGNATURE, startTestApp, type TestApp } from './harness';
import { brandPack, scene, SEEDS } from './job-fixtures';

type Json = Record<string, any>;

/** Keys: two tenants; `acme` auto-approves, `strict` always wants a person. `legacy` has no role (= marketer). */
const KEYS = {
  mara: 'k-mara',
  rita: 'k-rita',
  ada: 'k-ada',
  legacy: 'k-legacy', // acme
  sue: 'k-sue',
  sven: 'k-sven',
  sam: 'k-sam', // strict
};
const API_KEYS = [
  `${KEYS.mara}:acme:marketer:mara`,
  `${KEYS.rita}:acme:reviewer:rita`,
  `${KEYS.ada}:acme:admin:ada`,
  `${KEYS.legacy}:acme`,
  `${KEYS.sue}:strict:marketer:sue`,
  `${KEYS.sven}:strict:reviewer:sven`,
  `${KEYS.sam}:strict:admin:sam`,
].join(',');

describe('roles, review, audit and blind A/B, end to end through the REST API (embedded)', { timeout: 300_000 }, () => {
  let app: TestApp;
  const as =
    (key: string) =>
    (path: string, init: RequestInit & { json?: unknown } = {}) => {
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${key}`);
      return app.api(path, { ...init, headers });
    };
  const upload = async (key: string, bytes: Buffer, name: string, fields: Record<string, string>): Promise<Json> => {
    const form = new FormData();
    form.set('file', new Blob([new Uint8Array(bytes)]), name);
    for (const [k, v] of Object.entries(fields)) form.set(k, v);
    const res = await as(key)('/v1/assets', { method: 'POST', body: form });
    assert.equal(res.status, 201, await res.clone().text());
    return ((await res.json()) as Json).asset;
  };
  const json = async (res: Response, status: number): Promise<Json> => {
    assert.equal(res.status, status, await res.clone().text());
    return (await res.json()) as Json;
  };
  const library = async (key: string) => {
    const seeds: string[] = [];
    for (const [i, [name, caption, rgb, size]] of SEEDS.slice(0, 3).entries())
      seeds.push((await upload(key, await scene(rgb, size, i), name, { caption })).path);
    const brand = (await upload(key, await brandPack(), 'pack.png', { kind: 'brand' })).path as string;
    await app.whenIdle();
    return { seeds, brand };
  };
  const waitForJob = async (key: string, id: string): Promise<Json> => {
    for (;;) {
      await app.whenIdle();
      const job = (await json(await as(key)(`/v1/jobs/${id}`), 200)).job;
      if (['done', 'failed', 'cancelled'].includes(job.status)) return job;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  let acme: { seeds: string[]; brand: string };
  let strict: { seeds: string[]; brand: string };

  before(async () => {
    app = await startTestApp({ env: { ADSEED_API_KEYS: API_KEYS, ADSEED_REVIEW_POLICY: JSON.stringify({ strict: 'always-review', '*': 'auto-approve' }) } });
    acme = await library(KEYS.mara);
    strict = await library(KEYS.sue);
  });
  after(async () => {
    await app?.whenIdle();
    await app?.stop();
  });

  it('checks roles: reviewers review, admins read the audit log, a key without a role is a marketer', async () => {
    assert.equal((await app.api('/v1/reviews')).status, 401);
    for (const key of [KEYS.mara, KEYS.legacy]) {
      const body = await json(await as(key)('/v1/reviews'), 403);
      assert.equal(body.error.code, 'forbidden');
      assert.equal((await as(key)('/v1/audit')).status, 403);
      assert.equal((await as(key)('/v1/experiments/exp-00000000', { method: 'GET' })).status, 403);
    }
    await json(await as(KEYS.rita)('/v1/reviews'), 200);
    assert.equal((await as(KEYS.rita)('/v1/audit')).status, 403);
    await json(await as(KEYS.ada)('/v1/reviews'), 200);
    await json(await as(KEYS.ada)('/v1/audit'), 200);
    // The image guardrail's quarantine is listed for admins only.
    assert.equal((await as(KEYS.mara)('/v1/assets?kind=seed&status=quarantined')).status, 403);
    assert.equal((await as(KEYS.rita)('/v1/assets?kind=seed&status=quarantined')).status, 403);
    await json(await as(KEYS.ada)('/v1/assets?kind=seed&status=quarantined'), 200);
    // A reviewer of one tenant sees nothing of another.
    assert.equal((await as(KEYS.rita)('/v1/reviews', { headers: { 'x-tenant-id': 'strict' } })).status, 403);
  });

  it('auto-approves an ad of the local compositor: product fidelity near 1, recorded in provenance; the marketer gets its bytes', async () => {
    const direct = (await json(await as(KEYS.mara)('/v1/ads', { method: 'POST', json: { seedPath: acme.seeds[0], brandPath: acme.brand } }), 201)).ad;
    assert.ok(direct.fidelity >= 0.95, `fidelity ${direct.fidelity}`);
    assert.equal(direct.review.status, 'approved');
    const png = Buffer.from(await (await as(KEYS.mara)(direct.url)).arrayBuffer());
    assert.ok(png.subarray(0, 8).equals(PNG_SIGNATURE));

    const created = (
      await json(
        await as(KEYS.mara)('/v1/jobs', { method: 'POST', json: { brandPath: acme.brand, seedPaths: acme.seeds.slice(0, 2), formats: ['1:1', '9:16'] } }),
        202,
      )
    ).job;
    const job = await waitForJob(KEYS.mara, created.id);
    assert.equal(job.ads.length, 4);
    for (const ad of job.ads) {
      assert.equal(ad.review.status, 'approved');
      const provenance = await json(await as(KEYS.mara)(`/v1/assets/content?path=${encodeURIComponent(ad.provenancePath)}`), 200);
      assert.equal(provenance.fidelity.located, 'placement');
      assert.deepEqual(provenance.fidelity.region, provenance.brand.placement);
      assert.ok(provenance.fidelity.score >= 0.95, `${ad.format}: ${provenance.fidelity.score}`);
      assert.equal(ad.review.fidelity, provenance.fidelity.score);
      assert.equal((await as(KEYS.mara)(ad.url)).status, 200);
    }
  });

  let strictJob: Json;
  it('holds every ad of an always-review tenant: marked pending, bytes for reviewers only, until a reviewer approves', async () => {
    const direct = (await json(await as(KEYS.sue)('/v1/ads', { method: 'POST', json: { seedPath: strict.seeds[0], brandPath: strict.brand } }), 201)).ad;
    assert.equal(direct.review.status, 'pending');
    const denied = await json(await as(KEYS.sue)(direct.url), 403);
    assert.equal(denied.error.code, 'not_approved');
    assert.equal((await as(KEYS.sue)(`/v1/assets/url?path=${encodeURIComponent(direct.path)}`)).status, 403);
    assert.equal((await as(KEYS.sven)(direct.url)).status, 200, 'a reviewer sees it');
    // Another tenant's reviewer does not.
    assert.equal((await as(KEYS.rita)(direct.url)).status, 404);

    const created = (
      await json(
        await as(KEYS.sue)('/v1/jobs', { method: 'POST', json: { brandPath: strict.brand, seedPaths: [strict.seeds[1]], formats: ['1:1', '4:5'] } }),
        202,
      )
    ).job;
    strictJob = await waitForJob(KEYS.sue, created.id);
    assert.deepEqual(
      strictJob.ads.map((a: Json) => a.review.status),
      ['pending', 'pending'],
    );
    for (const ad of strictJob.ads) assert.equal((await as(KEYS.sue)(ad.url)).status, 403);

    const queue = await json(await as(KEYS.sven)('/v1/reviews?status=pending'), 200);
    const ids = queue.items.map((r: Json) => r.adId).sort();
    assert.deepEqual(ids, [direct.review.adId, ...strictJob.ads.map((a: Json) => a.review.adId)].sort());
    const entry = queue.items.find((r: Json) => r.adId === direct.review.adId);
    assert.deepEqual(entry.needsReviewBecause, ['tenant policy: always-review']);
    assert.equal(entry.source, 'direct');
    assert.equal(queue.items.find((r: Json) => r.adId === strictJob.ads[0].review.adId).jobId, strictJob.id);

    // A marketer cannot decide; a rejection needs a reason.
    assert.equal((await as(KEYS.sue)(`/v1/ads/${direct.review.adId}/review`, { method: 'POST', json: { decision: 'approve' } })).status, 403);
    const noReason = await json(await as(KEYS.sven)(`/v1/ads/${direct.review.adId}/review`, { method: 'POST', json: { decision: 'reject' } }), 400);
    assert.equal(noReason.error.issues[0].field, 'reason');
    assert.equal((await as(KEYS.sven)('/v1/ads/00000000000000000000000000000000/review', { method: 'POST', json: { decision: 'approve' } })).status, 404);

    const approved = (await json(await as(KEYS.sven)(`/v1/ads/${direct.review.adId}/review`, { method: 'POST', json: { decision: 'approve' } }), 200)).review;
    assert.equal(approved.status, 'approved');
    assert.equal(approved.decidedBy, 'sven');
    assert.ok(Date.parse(approved.decidedAt) > Date.parse(approved.createdAt) - 1);
    assert.equal((await as(KEYS.sue)(direct.url)).status, 200, 'approved: the marketer gets it');

    const rejected = (
      await json(
        await as(KEYS.sven)(`/v1/ads/${strictJob.ads[0].review.adId}/review`, { method: 'POST', json: { decision: 'reject', reason: 'pack covers the dog' } }),
        200,
      )
    ).review;
    assert.deepEqual([rejected.status, rejected.reason, rejected.decidedBy], ['rejected', 'pack covers the dog', 'sven']);
    assert.equal((await as(KEYS.sue)(strictJob.ads[0].url)).status, 403);
    const job = (await json(await as(KEYS.sue)(`/v1/jobs/${strictJob.id}`), 200)).job;
    assert.deepEqual(
      job.ads.map((a: Json) => a.review.status),
      ['rejected', 'pending'],
    );

    const pending = await json(await as(KEYS.sven)('/v1/reviews?status=pending'), 200);
    assert.deepEqual(
      pending.items.map((r: Json) => r.adId),
      [strictJob.ads[1].review.adId],
    );
    const rejectedList = await json(await as(KEYS.sven)('/v1/reviews?status=rejected'), 200);
    assert.deepEqual(
      rejectedList.items.map((r: Json) => [r.adId, r.reason]),
      [[strictJob.ads[0].review.adId, 'pack covers the dog']],
    );
  });

  it('keeps an append-only audit log of uploads, decisions and key use, paged oldest first', async () => {
    const all: Json[] = [];
    let cursor: string | undefined;
    const pages: number[] = [];
    do {
      const page = await json(await as(KEYS.sam)(`/v1/audit?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`), 200);
      pages.push(page.items.length);
      all.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    assert.ok(pages.length > 2 && pages.slice(0, -1).every((n) => n === 3), `pages ${pages.join(',')}`);
    assert.equal(new Set(all.map((e) => e.id)).size, all.length, 'no entry twice');
    assert.deepEqual(
      all.map((e) => e.at),
      [...all.map((e) => e.at)].sort(),
      'oldest first',
    );
    assert.ok(
      all.every((e) => e.tenant === 'strict'),
      'only this tenant',
    );
    const by = (action: string) => all.filter((e) => e.action === action);
    assert.equal(by('asset.uploaded').length, 4);
    assert.ok(
      by('asset.uploaded').every(
        (e) => e.actor === 'sue' && e.role === 'marketer' && e.status === 201 && e.target.startsWith('seeds/strict/') === (e !== by('asset.uploaded')[3]),
      ),
    );
    const decisions = by('review.decided');
    // The refused calls (400 without a reason, 404 unknown ad, 403 for the marketer) changed nothing and are not entries.
    assert.deepEqual(
      decisions.map((e) => [e.actor, e.status, e.details.status]),
      [
        ['sven', 200, 'approved'],
        ['sven', 200, 'rejected'],
      ],
    );
    assert.equal(decisions[1].details.reason, 'pack covers the dog');
    assert.deepEqual(new Set(by('key.used').map((e) => e.actor)), new Set(['sue', 'sven', 'sam']));

    // Append-only: what was written stays byte for byte; a delete adds an entry.
    const before = new Map((await app.store.list('state', 'audit/strict/', { limit: 10_000 })).items.map((i) => [i.key, i.etag]));
    const asset = (await json(await as(KEYS.sue)('/v1/assets?kind=seed'), 200)).items[0];
    await json(await as(KEYS.sue)(`/v1/assets/${asset.id}`, { method: 'DELETE' }), 200);
    const afterList = (await app.store.list('state', 'audit/strict/', { limit: 10_000 })).items;
    for (const [key, etag] of before) assert.equal(afterList.find((i) => i.key === key)?.etag, etag, `${key} unchanged`);
    assert.equal(afterList.length, before.size + 1);
    const last = (await json(await as(KEYS.sam)(`/v1/audit?limit=500`), 200)).items.at(-1);
    assert.deepEqual([last.action, last.actor, last.target], ['asset.deleted', 'sue', asset.path]);
  });

  it('runs a blind A/B: pairs from one seed, configurations hidden, votes counted into wins, Wilson intervals and Bradley–Terry', async () => {
    const configurations = [
      { name: 'bottom-right', placement: 'bottom-right' },
      { name: 'top-left small', placement: 'top-left', packScale: 0.7 },
      { name: 'flux', generator: 'replicate', promptTemplate: 'A {subject} with our pack, for {segment}' },
    ];
    assert.equal(
      (await as(KEYS.mara)('/v1/experiments', { method: 'POST', json: { name: 'x', brandPath: acme.brand, seedPaths: acme.seeds, configurations } })).status,
      403,
    );
    let experiment = (
      await json(
        await as(KEYS.rita)('/v1/experiments', {
          method: 'POST',
          json: { name: 'corner test', brandPath: acme.brand, seedPaths: acme.seeds.slice(0, 2), configurations },
        }),
        202,
      )
    ).experiment;
    while (experiment.status === 'generating') {
      await new Promise((r) => setTimeout(r, 100));
      experiment = (await json(await as(KEYS.rita)(`/v1/experiments/${experiment.id}`), 200)).experiment;
    }
    assert.equal(experiment.status, 'ready');
    assert.deepEqual(experiment.ads, { made: 4, failed: 2, total: 6 });
    assert.ok(experiment.failures.every((f: Json) => f.configuration === 'flux' && f.code === 'generator_unavailable'));

    // Which configuration made which ad: the test reads the experiment's state; the API never says.
    const made = new Map<string, { configuration: number; seed: number }>();
    for (const item of (await app.store.list('state', `experiments/acme/${experiment.id}/ads/`, { limit: 100 })).items) {
      const outcome = JSON.parse((await app.store.get('state', item.key)).body.toString('utf8'));
      if (outcome.path) made.set(`/v1/assets/content?path=${encodeURIComponent(outcome.path)}`, outcome);
    }
    const corners: Record<number, string> = {};
    // 7 pairs won by bottom-right, 3 by top-left small, 2 both bad.
    const plan = [...Array(7).fill(0), ...Array(3).fill(1), 'both', 'both'];
    for (const wanted of plan) {
      const { pair } = await json(await as(KEYS.rita)(`/v1/experiments/${experiment.id}/next-pair`), 200);
      const left = made.get(pair.left.url)!;
      const right = made.get(pair.right.url)!;
      assert.ok(left && right, 'both ads are experiment ads');
      assert.notEqual(left.configuration, right.configuration);
      assert.equal(left.seed, right.seed, 'same seed');
      assert.equal(pair.seedPath, acme.seeds[left.seed]);
      assert.equal(JSON.stringify(pair).includes('bottom'), false, 'configurations hidden');
      for (const side of [pair.left, pair.right]) {
        const png = Buffer.from(await (await as(KEYS.rita)(side.url)).arrayBuffer());
        const { width } = await sharp(png).metadata();
        assert.equal(width, 1080);
      }
      corners[left.configuration] = pair.left.url;
      const choice = wanted === 'both' ? 'both-bad' : left.configuration === wanted ? 'left' : 'right';
      await json(await as(KEYS.rita)(`/v1/experiments/${experiment.id}/votes`, { method: 'POST', json: { pairId: pair.pairId, choice } }), 201);
      const again = await json(await as(KEYS.rita)(`/v1/experiments/${experiment.id}/votes`, { method: 'POST', json: { pairId: pair.pairId, choice } }), 409);
      assert.equal(again.error.code, 'already_voted');
    }
    experiment = (await json(await as(KEYS.rita)(`/v1/experiments/${experiment.id}`), 200)).experiment;
    assert.equal(experiment.votes, 12);
    const [br, tl, flux] = experiment.results;
    assert.deepEqual([br.configuration, br.comparisons, br.wins, br.losses, br.bothBad], ['bottom-right', 12, 7, 3, 2]);
    assert.deepEqual([tl.comparisons, tl.wins, tl.losses, tl.bothBad], [12, 3, 7, 2]);
    // Win rate 7/12 = 0.583333; Wilson, z = 1.959964, z² = 3.841459, n = 12:
    //   denominator 1 + 3.841459/12 = 1.3201216; centre 0.5833333 + 3.841459/24 = 0.7433941
    //   half 1.959964 × √(0.5833333 × 0.4166667 / 12 + 3.841459/576) = 1.959964 × √(0.0202546 + 0.0066692) = 1.959964 × 0.1640848 = 0.3216003
    //   → [(0.7433941 − 0.3216003)/1.3201216, (0.7433941 + 0.3216003)/1.3201216] = [0.3195113, 0.8067397]
    assert.ok(Math.abs(br.winRate - 7 / 12) < 1e-12);
    assert.ok(Math.abs(br.winRate95.low - 0.3195113) < 1e-6 && Math.abs(br.winRate95.high - 0.8067397) < 1e-6, JSON.stringify(br.winRate95));
    // Bradley–Terry on the 10 decided votes (both-bad left out): two configurations → 7/10 and 3/10.
    assert.ok(Math.abs(br.strength - 0.7) < 1e-9 && Math.abs(tl.strength - 0.3) < 1e-9, `${br.strength} ${tl.strength}`);
    assert.deepEqual([br.rank, tl.rank], [1, 2]);
    assert.deepEqual([flux.comparisons, flux.winRate, flux.winRate95, flux.strength, flux.rank], [0, null, null, null, null]);
    // The two configurations really differ where the pack goes: their ads of one seed are different pictures.
    assert.notEqual(corners[0], corners[1]);
  });

  it('marks a conversation ad with its review: pending under always-review, the bytes withheld from the marketer until approved', async () => {
    let c = await json(
      await as(KEYS.sue)('/v1/conversations', { method: 'POST', json: { segment: 'outdoor-loving dog owners', brandPath: strict.brand } }),
      201,
    );
    for (let turn = 0; c.status !== 'done' && turn < 4; turn++)
      c = await json(await as(KEYS.sue)(`/v1/conversations/${c.id}/messages`, { method: 'POST', json: { text: 'yes' } }), 200);
    assert.equal(c.status, 'done', JSON.stringify(c.messages?.at(-1)));
    assert.equal(c.ad.review.status, 'pending');
    assert.ok(c.ad.review.fidelity >= 0.95, `fidelity ${c.ad.review.fidelity}`);
    assert.equal((await as(KEYS.sue)(c.ad.url)).status, 403);
    const queued = (await json(await as(KEYS.sven)('/v1/reviews?status=pending'), 200)).items.find((r: Json) => r.adId === c.ad.review.adId);
    assert.deepEqual([queued.source, queued.conversationId], ['conversation', c.id]);
    await json(await as(KEYS.sven)(`/v1/ads/${c.ad.review.adId}/review`, { method: 'POST', json: { decision: 'approve' } }), 200);
    const again = await json(await as(KEYS.sue)(`/v1/conversations/${c.id}`), 200);
    assert.equal(again.ad.review.status, 'approved');
    assert.equal((await as(KEYS.sue)(c.ad.url)).status, 200);
  });
});
