import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { Queries } from '@adseed/contracts';
import { DEMO_LIBRARY, PNG_SIGNATURE, startTestApp, type TestApp } from './harness';
import { snapshotDir } from './snapshot';

type Json = Record<string, any>;

const solid = (r: number, g: number, b: number, width = 320, height = 240) =>
  sharp({ create: { width, height, channels: 3, background: { r, g, b } } })
    .jpeg()
    .toBuffer();

async function upload(app: TestApp, bytes: Buffer, name: string, fields: Record<string, string> = {}, tenant?: string): Promise<Response> {
  const form = new FormData();
  form.set('file', new Blob([new Uint8Array(bytes)]), name);
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  return app.api('/v1/assets', { method: 'POST', body: form, ...(tenant ? { tenant } : {}) });
}

describe('embedded mode, end to end through the REST API', () => {
  let app: TestApp;

  before(async () => {
    // A missing fixture fails the suite, never skips it.
    assert.ok(existsSync(DEMO_LIBRARY), `the demo library is missing at ${DEMO_LIBRARY}: this suite needs ../shared/datasets beside the repository`);
    app = await startTestApp({ seedLibraryDir: DEMO_LIBRARY, env: { ADSEED_MAX_IMAGE_PIXELS: '2000000', ADSEED_MAX_UPLOAD_BYTES: String(3 * 1024 * 1024) } });
    await app.demoLibrary;
    await app.whenIdle();
  });
  after(() => app?.stop());

  it('ingests the 258 demo photos: every one stored and indexed exactly once, nothing dead-lettered', async () => {
    const listed = (await (await app.api('/v1/assets?kind=seed&limit=500')).json()) as Json;
    assert.equal(listed.items.length, 258);
    const indexed = app.broker.read('adseed.asset.indexed.v1').filter((m) => JSON.parse(m.value).path.startsWith('seeds/'));
    assert.equal(new Set(indexed.map((m) => m.key)).size, 258);
    assert.equal(indexed.length, 258);
    for (const topic of app.broker.topicNames()) if (topic.endsWith('.dlt')) assert.equal(app.broker.read(topic).length, 0, topic);
  });

  it('retrieves the right breed from captions: top-3 for "a photo of a beagle"', async () => {
    const res = await app.api('/v1/search', { method: 'POST', json: { text: 'a photo of a beagle', encoders: ['caption'] } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as Json;
    assert.equal(body.hits.length, 3);
    for (const hit of body.hits) {
      assert.match(hit.path, /^seeds\/demo\/oxford-pets\/beagle\//);
      assert.ok(hit.scores.caption > 0.3, `caption cosine reported (${hit.scores.caption})`);
      assert.ok((await app.api(hit.url)).ok);
    }
    assert.deepEqual(
      body.hits.map((h: Json) => h.rank),
      [0, 1, 2],
    );
    assert.equal(body.fusion, 'caption cosine');
    assert.ok(body.hits[0].score >= body.hits[1].score && body.hits[1].score >= body.hits[2].score);
  });

  it('runs a whole conversation: subject → 3 seeds → next → next → new subject → confirm → PNG ad', async () => {
    const created = await app.api('/v1/conversations', { method: 'POST', json: { segment: 'outdoor-loving dog owner' } });
    assert.equal(created.status, 201);
    let c = (await created.json()) as Json;
    assert.equal(c.status, 'awaiting-subject');
    const firstSubject = c.subject.name;
    assert.ok(c.subject.reason.length > 10);

    const say = async (text: string) => {
      const res = await app.api(`/v1/conversations/${c.id}/messages`, { method: 'POST', json: { text } });
      assert.equal(res.status, 200, await res.clone().text());
      return (await res.json()) as Json;
    };
    const searchesBefore = app.queries.callsOf(Queries.search);
    c = await say('yes');
    assert.equal(c.status, 'awaiting-seed');
    assert.equal(c.seeds.length, 3);
    assert.equal(c.seedIndex, 0);
    assert.deepEqual(c.currentSeed, c.seeds[0]);
    const three = c.seeds.map((s: Json) => s.path);
    assert.equal(app.queries.callsOf(Queries.search), searchesBefore + 1);

    c = await say('not quite');
    assert.equal(c.seedIndex, 1);
    assert.equal(c.currentSeed.path, three[1]);
    c = await say('next');
    assert.equal(c.currentSeed.path, three[2]);
    assert.deepEqual(
      c.seeds.map((s: Json) => s.path),
      three,
      'the same three seeds, no new search',
    );
    assert.equal(app.queries.callsOf(Queries.search), searchesBefore + 1);

    c = await say('not quite');
    assert.equal(c.status, 'awaiting-seed');
    assert.notEqual(c.subject.name, firstSubject);
    assert.ok(c.rejectedSubjects.includes(firstSubject));
    assert.equal(c.seedIndex, 0);
    assert.notDeepEqual(
      c.seeds.map((s: Json) => s.path),
      three,
    );
    assert.equal(app.queries.callsOf(Queries.search), searchesBefore + 2);

    c = await say('yes, that one');
    assert.equal(c.status, 'done');
    assert.match(c.ad.path, /^ads\/demo\//);
    const ad = await app.api(c.ad.url);
    assert.equal(ad.headers.get('content-type'), 'image/png');
    const png = Buffer.from(await ad.arrayBuffer());
    assert.ok(png.subarray(0, 8).equals(PNG_SIGNATURE));
    const meta = await sharp(png).metadata();
    assert.ok(meta.width >= 1080 && meta.height >= 1080);

    const fetched = (await (await app.api(`/v1/conversations/${c.id}`)).json()) as Json;
    assert.equal(fetched.status, 'done');
    assert.ok(fetched.messages.length >= 6);
  });

  it('streams conversation state over server-sent events', async () => {
    const c = (await (await app.api('/v1/conversations', { method: 'POST', json: { segment: 'cat lovers in small apartments' } })).json()) as Json;
    const controller = new AbortController();
    const res = await app.api(`/v1/conversations/${c.id}/events`, { signal: controller.signal });
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const reader = res.body!.getReader();
    const events: Json[] = [];
    let buffer = '';
    const readUntil = async (predicate: () => boolean) => {
      while (!predicate()) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += Buffer.from(value).toString('utf8');
        let cut;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (data) events.push(JSON.parse(data.slice(6)));
        }
      }
    };
    await readUntil(() => events.length >= 1);
    assert.equal(events[0].status, 'awaiting-subject');
    await app.api(`/v1/conversations/${c.id}/messages`, { method: 'POST', json: { text: 'yes' } });
    await readUntil(() => events.some((e) => e.status === 'awaiting-seed'));
    controller.abort();
    assert.ok(events.some((e) => e.status === 'awaiting-seed' && e.seeds.length === 3));
  });

  it('generates an ad directly from a seed and from a segment, without a conversation', async () => {
    const seeds = (await (await app.api('/v1/assets?kind=seed&limit=1')).json()) as Json;
    const bySeed = await app.api('/v1/ads', {
      method: 'POST',
      json: { seedPath: seeds.items[0].path, headline: 'Real food for real adventures', callToAction: 'Shop now' },
    });
    assert.equal(bySeed.status, 201, await bySeed.clone().text());
    const ad = ((await bySeed.json()) as Json).ad;
    assert.match(ad.brandPath, /^brands\/demo\//);
    assert.ok(
      Buffer.from(await (await app.api(ad.url)).arrayBuffer())
        .subarray(0, 8)
        .equals(PNG_SIGNATURE),
    );
    const link = (await (await app.api(`/v1/assets/url?path=${encodeURIComponent(ad.path)}`)).json()) as Json;
    assert.deepEqual(link, { url: ad.url, presigned: false }, 'the filesystem store has no presigned URLs: the gateway serves the bytes');
    const bySegment = await app.api('/v1/ads', { method: 'POST', json: { segment: 'families with a playful beagle' } });
    assert.equal(bySegment.status, 201);
  });

  it('re-ingesting the same image changes nothing in the index', async () => {
    const bytes = await solid(10, 120, 200);
    const first = (await (await upload(app, bytes, 'lake_dog.jpg', { caption: 'a dog by a lake' })).json()) as Json;
    await app.whenIdle();
    const before = await snapshotDir(`${app.dataDir}/index`);
    const second = (await (await upload(app, bytes, 'lake_dog.jpg', { caption: 'a dog by a lake' })).json()) as Json;
    await app.whenIdle();
    assert.equal(second.asset.id, first.asset.id);
    assert.deepEqual(await snapshotDir(`${app.dataDir}/index`), before);
    const indexed = app.broker
      .read('adseed.asset.indexed.v1')
      .filter((m) => m.key === first.asset.id)
      .map((m) => JSON.parse(m.value).changed);
    assert.deepEqual(indexed, [true, false]);
  });

  it('searches what the photo shows through the CLIP towers (generated colour model)', async () => {
    const tenant = 'colours';
    for (const [name, rgb] of [
      ['a.jpg', [220, 30, 30]],
      ['b.jpg', [30, 60, 220]],
      ['c.jpg', [40, 170, 60]],
    ] as const) {
      assert.equal((await upload(app, await solid(rgb[0], rgb[1], rgb[2]), name, {}, tenant)).status, 201);
    }
    await app.whenIdle();
    for (const [text, expected] of [
      ['a red image', 'a.jpg'],
      ['a blue image', 'b.jpg'],
      ['something green', 'c.jpg'],
    ]) {
      // minScore -1: every image comes back, ranked, flagged when under the calibrated floor
      const all = (await (await app.api('/v1/search', { method: 'POST', json: { text, k: 3, minScore: -1 }, tenant })).json()) as Json;
      assert.equal(all.hits.length, 3);
      assert.ok(all.hits[0].path.endsWith(`/${expected}`), `${text} → ${all.hits[0].path}`);
      assert.ok(all.encoders.clip, 'the CLIP text tower answered');
      assert.equal(typeof all.floor.clip, 'number');
      for (const hit of all.hits) assert.equal(hit.belowFloor, !(hit.scores.clip >= all.floor.clip), JSON.stringify(hit));
      // by default only what clears the floor: a prefix of the same ranking
      const floored = (await (await app.api('/v1/search', { method: 'POST', json: { text, k: 3 }, tenant })).json()) as Json;
      assert.deepEqual(
        floored.hits.map((h: Json) => h.path),
        all.hits.filter((h: Json) => !h.belowFloor).map((h: Json) => h.path),
      );
    }
  });

  it('keeps tenants apart: another tenant sees none of the demo library', async () => {
    const demoSeed = ((await (await app.api('/v1/assets?kind=seed&limit=1')).json()) as Json).items[0];
    assert.equal((await app.api(demoSeed.url, { tenant: 'intruder' })).status, 404);
    const search = (await (await app.api('/v1/search', { method: 'POST', json: { text: 'beagle' }, tenant: 'intruder' })).json()) as Json;
    assert.equal(search.hits.length, 0);
  });

  describe('bad input: the exact 4xx, a clear error, and nothing stored lost or changed', () => {
    const cases: [string, (app: TestApp) => Promise<Response>, number, string][] = [
      ['corrupt image', async (a) => upload(a, Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(400, 7)]), 'broken.jpg'), 400, 'file'],
      ['wrong type', async (a) => upload(a, Buffer.from('just some text, not an image'), 'notes.jpg'), 415, 'file'],
      [
        'oversized image (pixels)',
        async (a) =>
          upload(
            a,
            await sharp({ create: { width: 2000, height: 1500, channels: 3, background: '#888' } })
              .png()
              .toBuffer(),
            'huge.png',
          ),
        413,
        'file',
      ],
      [
        'oversized upload (bytes)',
        async (a) => upload(a, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47]), Buffer.alloc(4 * 1024 * 1024)]), 'big.png'),
        413,
        '',
      ],
      ['empty search text', async (a) => a.api('/v1/search', { method: 'POST', json: { text: '   ' } }), 400, 'text'],
      ['empty segment', async (a) => a.api('/v1/conversations', { method: 'POST', json: { segment: '' } }), 400, 'segment'],
      [
        'unknown conversation',
        async (a) => a.api('/v1/conversations/00000000-0000-0000-0000-000000000000/messages', { method: 'POST', json: { text: 'yes' } }),
        404,
        'id',
      ],
      ['path outside the tenant', async (a) => a.api('/v1/assets/content?path=seeds/other/x.jpg'), 404, 'query.path'],
      ['path traversal', async (a) => a.api('/v1/assets/content?path=seeds/demo/../../etc/passwd'), 400, 'query.path'],
      ['unknown route', async (a) => a.api('/v1/nothing-here'), 404, ''],
      ['invalid JSON body', async (a) => a.api('/v1/search', { method: 'POST', body: '{"text":', headers: { 'content-type': 'application/json' } }), 400, ''],
    ];
    for (const [name, call, status, field] of cases) {
      it(name, async () => {
        await app.whenIdle();
        const before = await snapshotDir(app.dataDir);
        const res = await call(app);
        assert.equal(res.status, status);
        const body = (await res.json()) as Json;
        assert.equal(body.error.status, status);
        assert.ok(body.error.message.length > 5);
        if (field)
          assert.ok(
            body.error.issues?.some((i: Json) => i.field === field),
            JSON.stringify(body.error),
          );
        await app.whenIdle();
        assert.deepEqual(await snapshotDir(app.dataDir), before);
      });
    }

    it('seed index out of range', async () => {
      let c = (await (await app.api('/v1/conversations', { method: 'POST', json: { segment: 'busy parents' } })).json()) as Json;
      c = (await (await app.api(`/v1/conversations/${c.id}/messages`, { method: 'POST', json: { text: 'yes' } })).json()) as Json;
      await app.whenIdle();
      const before = await snapshotDir(app.dataDir);
      const res = await app.api(`/v1/conversations/${c.id}/seed`, { method: 'POST', json: { index: 3 } });
      // A well-formed index the current subject has no seed for: the conversation's state, not the request, is the problem.
      assert.equal(res.status, 409);
      const body = (await res.json()) as Json;
      assert.equal(body.error.issues[0].field, 'index');
      assert.match(body.error.message, /0\.\.2/);
      await app.whenIdle();
      assert.deepEqual(await snapshotDir(app.dataDir), before);
      const ok = await app.api(`/v1/conversations/${c.id}/seed`, { method: 'POST', json: { index: 2 } });
      assert.equal(((await ok.json()) as Json).currentSeed.path, c.seeds[2].path);
    });
  });
});
