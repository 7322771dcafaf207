import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { PNG_SIGNATURE, startTestApp, type TestApp } from './harness';
import { library, MIN_SCORE, SEGMENTS } from './job-fixtures';

type Json = Record<string, any>;

const FORMAT_SIZES: Record<string, [number, number]> = { '1:1': [1080, 1080], '4:5': [1080, 1350], '9:16': [1080, 1920], '1.91:1': [1200, 628] };
async function waitForJob(app: TestApp, id: string, until: (job: Json) => boolean = (j) => ['done', 'failed', 'cancelled'].includes(j.status)): Promise<Json> {
  for (;;) {
    await app.whenIdle();
    const job = ((await (await app.api(`/v1/jobs/${id}`)).json()) as Json).job;
    if (until(job)) return job;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function bytesOf(app: TestApp, url: string): Promise<Buffer> {
  const res = await app.api(url);
  assert.equal(res.status, 200, url);
  return Buffer.from(await res.arrayBuffer());
}

async function adObjects(app: TestApp, tenant: string, jobId: string): Promise<string[]> {
  return (await app.store.list('ads', `${tenant}/jobs/${jobId}/`, { limit: 1000 })).items.map((i) => i.key);
}

describe('creative jobs, end to end through the REST API (embedded)', { timeout: 300_000 }, () => {
  let app: TestApp;
  let brandPath: string;
  let seedPaths: string[];
  let job: Json;
  let location: string | null;

  before(async () => {
    app = await startTestApp();
    ({ brandPath, seedPaths } = await library(app));
    const res = await app.api('/v1/jobs', {
      method: 'POST',
      json: { brandPath, segments: SEGMENTS, formats: ['1:1', '4:5', '9:16', '1.91:1'], variants: 2, callToAction: 'Shop now', minScore: MIN_SCORE },
    });
    assert.equal(res.status, 202, await res.clone().text());
    location = res.headers.get('location');
    job = ((await res.json()) as Json).job;
  });
  after(async () => {
    await app?.whenIdle();
    await app?.stop();
  });

  it('accepts a job at once: 202, Location, the job as GET shows it', async () => {
    assert.equal(location, `/v1/jobs/${job.id}`);
    assert.ok(['queued', 'running'].includes(job.status));
    assert.equal(job.progress.total, 16);
    const fetched = ((await (await app.api(location)).json()) as Json).job;
    assert.equal(fetched.id, job.id);
    assert.deepEqual(Object.keys(fetched).sort(), Object.keys(job).sort());
  });

  it('makes 2 segments × 4 formats × 2 variants = 16 ads of the right sizes, all different, each with provenance', async () => {
    const done = await waitForJob(app, job.id);
    assert.equal(done.status, 'done', JSON.stringify(done.failures));
    assert.deepEqual(done.progress, { done: 16, failed: 0, total: 16 });
    assert.equal(done.ads.length, 16);
    const hashes = new Set<string>();
    for (const ad of done.ads) {
      const png = await bytesOf(app, ad.url);
      assert.ok(png.subarray(0, 8).equals(PNG_SIGNATURE));
      const meta = await sharp(png).metadata();
      assert.deepEqual([meta.width, meta.height], FORMAT_SIZES[ad.format], `${ad.format} ad`);
      assert.deepEqual([ad.width, ad.height], FORMAT_SIZES[ad.format]);
      hashes.add(createHash('sha256').update(png).digest('hex'));
      const provenance = JSON.parse((await bytesOf(app, `/v1/assets/content?path=${encodeURIComponent(ad.provenancePath)}`)).toString('utf8'));
      assert.equal(provenance.schema, 'adseed.ad-provenance.v1');
      assert.deepEqual(provenance.job, { id: job.id, tenant: 'demo' });
      assert.equal(provenance.ad.path, ad.path);
      assert.equal(provenance.ad.sha256, createHash('sha256').update(png).digest('hex'));
      assert.equal(provenance.segment, ad.segment);
      assert.equal(provenance.seed.path, ad.seedPath);
      assert.equal(provenance.brand.path, brandPath);
      assert.deepEqual(provenance.generator, { name: 'local-composite', model: 'local-composite', version: '3' });
      assert.ok(provenance.scores && typeof provenance.scores.score === 'number');
      assert.ok(!Number.isNaN(Date.parse(provenance.createdAt)));
      if (ad.seedPath === seedPaths[0]) assert.deepEqual([provenance.seed.licence, provenance.seed.attribution], ['CC-BY-SA-4.0', 'Jane Doe']);
      else assert.equal(provenance.seed.licence, undefined);
    }
    assert.equal(hashes.size, 16, 'no picture twice');
    // Every segment × format has both variants, and variants of one segment and format use different seeds.
    for (const segment of SEGMENTS) {
      for (const format of Object.keys(FORMAT_SIZES)) {
        const pair = done.ads.filter((a: Json) => a.segment === segment && a.format === format);
        assert.deepEqual(pair.map((a: Json) => a.variant).sort(), [1, 2]);
        assert.notEqual(pair[0].seedPath, pair[1].seedPath);
      }
    }
    // The 400×300 tent photo, if used, was enlarged more than 2×: its ads say so.
    for (const ad of done.ads.filter((a: Json) => a.seedPath.endsWith('/tent_campfire.jpg'))) assert.match(ad.warnings.join(' '), /enlarged \d\.\d×/);
    assert.equal((await adObjects(app, 'demo', job.id)).length, 32, '16 PNGs and 16 provenance records, nothing else');
    for (const topic of app.broker.topicNames()) if (topic.endsWith('.dlt')) assert.equal(app.broker.read(topic).length, 0, topic);
  });

  it('lists jobs newest first, a page at a time', async () => {
    const second = (
      (await (await app.api('/v1/jobs', { method: 'POST', json: { brandPath, seedPaths: [seedPaths[1]], formats: ['1:1'], variants: 1 } })).json()) as Json
    ).job;
    await waitForJob(app, second.id);
    const first = (await (await app.api('/v1/jobs?limit=1')).json()) as Json;
    assert.deepEqual(
      first.items.map((j: Json) => j.id),
      [second.id],
    );
    assert.ok(first.nextCursor);
    const next = (await (await app.api(`/v1/jobs?limit=1&cursor=${first.nextCursor}`)).json()) as Json;
    assert.deepEqual(
      next.items.map((j: Json) => j.id),
      [job.id],
    );
    assert.equal(next.items[0].ads, undefined, 'summaries leave the ads out');
    assert.equal(((await (await app.api('/v1/jobs', { tenant: 'other' })).json()) as Json).items.length, 0);
  });

  it('honours Idempotency-Key: the same request gives the same job, another request with the key is refused', async () => {
    const body = { brandPath, seedPaths: [seedPaths[2]], formats: ['4:5'], variants: 2 };
    const headers = { 'idempotency-key': 'campaign-42' };
    const first = await app.api('/v1/jobs', { method: 'POST', json: body, headers });
    assert.equal(first.status, 202);
    const firstJob = ((await first.json()) as Json).job;
    const again = await app.api('/v1/jobs', { method: 'POST', json: body, headers });
    assert.equal(again.status, 200);
    assert.equal(((await again.json()) as Json).job.id, firstJob.id);
    const other = await app.api('/v1/jobs', { method: 'POST', json: { ...body, variants: 3 }, headers });
    assert.equal(other.status, 409);
    assert.equal(((await other.json()) as Json).error.issues[0].field, 'idempotency-key');
    const done = await waitForJob(app, firstJob.id);
    assert.equal(done.progress.done, 2);
    const all = (await (await app.api('/v1/jobs?limit=100')).json()) as Json;
    assert.equal(all.items.filter((j: Json) => j.seedPaths?.[0] === seedPaths[2]).length, 1, 'one job, not two');
    // Two variants of one seed: another look, so still two different pictures.
    const [a, b] = await Promise.all(done.ads.map((ad: Json) => bytesOf(app, ad.url)));
    assert.ok(!a.equals(b));
  });

  it('cancels: ads not yet made are not made', async () => {
    const res = await app.api('/v1/jobs', {
      method: 'POST',
      json: { brandPath, segments: SEGMENTS, formats: ['1:1', '4:5', '9:16', '1.91:1'], variants: 4, minScore: MIN_SCORE },
    });
    const started = ((await res.json()) as Json).job;
    const cancelled = await app.api(`/v1/jobs/${started.id}/cancel`, { method: 'POST' });
    assert.equal(cancelled.status, 200);
    assert.equal(((await cancelled.json()) as Json).job.status, 'cancelled');
    await app.whenIdle();
    const final = ((await (await app.api(`/v1/jobs/${started.id}`)).json()) as Json).job;
    assert.equal(final.status, 'cancelled');
    assert.ok(final.cancelledAt);
    assert.ok(final.progress.done < 32, `${final.progress.done} of 32 made`);
    // What was in flight at the cancel finished and is counted; nothing else was written.
    assert.equal((await adObjects(app, 'demo', started.id)).length, 2 * final.progress.done);
  });

  it('streams a job over server-sent events until it ends', async () => {
    const started = (
      (await (
        await app.api('/v1/jobs', { method: 'POST', json: { brandPath, seedPaths: seedPaths.slice(4, 6), formats: ['9:16'], variants: 1 } })
      ).json()) as Json
    ).job;
    const res = await app.api(`/v1/jobs/${started.id}/events`);
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const text = await res.text(); // the server ends the stream when the job is done
    const states = text.split('\n\n').flatMap((block) =>
      block
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => JSON.parse(l.slice(6))),
    );
    assert.ok(states.length >= 2, `${states.length} states`);
    assert.equal(states[states.length - 1].status, 'done');
    const done = states.map((s) => s.progress.done);
    assert.deepEqual(
      done,
      [...done].sort((x, y) => x - y),
      'progress never goes backwards',
    );
  });

  it('deletes a job and its ads now', async () => {
    const started = (
      (await (await app.api('/v1/jobs', { method: 'POST', json: { brandPath, seedPaths: [seedPaths[3]], formats: ['1:1'], variants: 1 } })).json()) as Json
    ).job;
    const done = await waitForJob(app, started.id);
    assert.equal((await app.api(done.ads[0].url)).status, 200);
    assert.equal((await app.api(`/v1/jobs/${started.id}`, { method: 'DELETE' })).status, 204);
    assert.equal((await app.api(`/v1/jobs/${started.id}`)).status, 404);
    assert.equal((await app.api(done.ads[0].url)).status, 404);
    assert.deepEqual(await adObjects(app, 'demo', started.id), []);
  });

  describe('bad input: the exact 4xx naming the field', () => {
    const cases: Array<[string, () => Json, number, string]> = [
      ['unknown format', () => ({ brandPath, segments: ['x'], formats: ['3:2'], variants: 1 }), 400, 'formats.0'],
      ['too many variants', () => ({ brandPath, segments: ['x'], formats: ['1:1'], variants: 9 }), 400, 'variants'],
      ['neither segments nor seeds', () => ({ brandPath, formats: ['1:1'] }), 400, 'segments'],
      [
        'too many ads',
        () => ({ brandPath, segments: Array.from({ length: 32 }, (_, i) => `segment ${i}`), formats: ['1:1', '4:5', '9:16'], variants: 8 }),
        400,
        'variants',
      ],
      ['unknown brand', () => ({ brandPath: 'brands/demo/none.png', segments: ['dogs'], formats: ['1:1'] }), 404, 'brandPath'],
      ["another tenant's seed", () => ({ brandPath, seedPaths: ['seeds/other/x.jpg'], formats: ['1:1'] }), 404, 'seedPaths.0'],
      [
        'a segment no seed clears the relevance floor for',
        () => ({ brandPath, segments: ['a mountain bike outdoors', SEGMENTS[1]], formats: ['1:1'] }),
        404,
        'segments.1',
      ],
    ];
    for (const [name, body, status, field] of cases) {
      it(name, async () => {
        const before = (await (await app.api('/v1/jobs?limit=100')).json()) as Json;
        const res = await app.api('/v1/jobs', { method: 'POST', json: body() });
        assert.equal(res.status, status);
        const error = ((await res.json()) as Json).error;
        assert.ok(
          error.issues.some((i: Json) => i.field === field),
          JSON.stringify(error),
        );
        const after = (await (await app.api('/v1/jobs?limit=100')).json()) as Json;
        assert.equal(after.items.length, before.items.length, 'no job was stored');
      });
    }
    it('unknown job', async () => {
      assert.equal((await app.api('/v1/jobs/j0000000000-00000000')).status, 404);
      assert.equal((await app.api('/v1/jobs/../../etc', { method: 'POST' })).status, 404);
    });
  });
});

describe('creative jobs survive a restart of the one-process app mid-job', { timeout: 300_000 }, () => {
  it('completes the job with every ad exactly once', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'adseed-jobs-restart-'));
    try {
      let app = await startTestApp({ dataDir });
      const { brandPath } = await library(app);
      const res = await app.api('/v1/jobs', {
        method: 'POST',
        json: { brandPath, segments: SEGMENTS, formats: ['1:1', '4:5', '9:16', '1.91:1'], variants: 4, minScore: MIN_SCORE },
      });
      const id = ((await res.json()) as Json).job.id;
      // Stop as soon as a few ads are made: the rest are still queued in the in-process broker, which a restart loses.
      while ((await adObjects(app, 'demo', id)).filter((k) => k.endsWith('.provenance.json')).length < 3) await new Promise((r) => setTimeout(r, 10));
      await app.stop();
      await app.whenIdle(); // ads being rendered at the stop finish (a killed process would drop them) // an ad being rendered at the stop finishes (a killed process would drop it)
      const madeBefore = new Map<string, string>();
      for (const key of await adObjects(app, 'demo', id)) {
        if (key.endsWith('.provenance.json')) madeBefore.set(key, JSON.parse((await app.store.get('ads', key)).body.toString('utf8')).createdAt);
      }
      assert.ok(madeBefore.size >= 3 && madeBefore.size < 32, `${madeBefore.size} ads made before the restart`);

      app = await startTestApp({ dataDir });
      try {
        const done = await waitForJob(app, id);
        assert.equal(done.status, 'done');
        assert.deepEqual(done.progress, { done: 32, failed: 0, total: 32 });
        assert.equal(new Set(done.ads.map((a: Json) => a.path)).size, 32);
        const keys = await adObjects(app, 'demo', id);
        assert.equal(keys.length, 64, '32 PNGs and 32 provenance records, nothing else');
        // Ads made before the restart were announced again, not rendered again: their records are unchanged.
        for (const [key, createdAt] of madeBefore) {
          assert.equal(JSON.parse((await app.store.get('ads', key)).body.toString('utf8')).createdAt, createdAt, key);
        }
        // Every ad was rendered once. Renders are announced with reused=false and their time; the log
        // may hold the first run's announcements too (the in-process bus journals to disk), so
        // count renders by (ad, time): one each, and the record in the store is that render's.
        const renders = new Map<string, Set<string>>();
        for (const m of app.broker.read('adseed.generation.ad-generated.v1')) {
          const e = JSON.parse(m.value);
          if (e.jobId !== id || e.reused) continue;
          const key = e.provenancePath.slice('ads/'.length);
          renders.set(key, new Set([...(renders.get(key) ?? []), e.generatedAt]));
        }
        for (const [key, times] of renders) {
          assert.equal(times.size, 1, `${key} rendered ${times.size} times`);
          assert.equal(JSON.parse((await app.store.get('ads', key)).body.toString('utf8')).createdAt, [...times][0], key);
          if (madeBefore.has(key)) assert.equal(madeBefore.get(key), [...times][0], `${key} rendered again after the restart`);
        }
        const renderedAfter = [...renders.keys()].filter((key) => !madeBefore.has(key));
        assert.equal(new Set([...renders.keys(), ...madeBefore.keys()]).size, 32, 'every ad accounted for');
        assert.ok(renderedAfter.length > 0, 'the restart had work left to do');
      } finally {
        await app.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
