import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GenerationTopics } from '@adseed/contracts';
import sharp from 'sharp';
import { PNG_SIGNATURE, startTestApp, type TestApp } from './harness';

type Json = Record<string, any>;

/**
 * Generation is an event, never a query a caller waits on: with no wait at all
 * (ADSEED_AD_WAIT_MS=0) `POST /v1/ads` answers 202 with where the ad will be, and a conversation's
 * "yes" answers `generating`; the ad still arrives, by event.
 */
describe('single ads by event, when nobody waits for them (ADSEED_AD_WAIT_MS=0)', () => {
  let app: TestApp;
  let seedPath: string;

  before(async () => {
    app = await startTestApp({ env: { ADSEED_AD_WAIT_MS: '0' } });
    const form = new FormData();
    const jpeg = await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 60, g: 140, b: 90 } } })
      .jpeg()
      .toBuffer();
    form.set('file', new Blob([new Uint8Array(jpeg)]), 'fern.jpg');
    form.set('caption', 'a green fern in a pot');
    const res = await app.api('/v1/assets', { method: 'POST', body: form });
    assert.equal(res.status, 201, await res.clone().text());
    seedPath = ((await res.json()) as Json).asset.path;
    await app.whenIdle();
  });
  after(() => app?.stop());

  it('POST /v1/ads answers 202 with the future path in Location; the ad is there once its event is handled', async () => {
    const res = await app.api('/v1/ads', { method: 'POST', json: { seedPath } });
    assert.equal(res.status, 202, await res.clone().text());
    const body = (await res.json()) as Json;
    assert.equal(body.status, 'generating');
    assert.equal(body.ad.seedPath, seedPath);
    assert.equal(res.headers.get('location'), body.ad.url);
    await app.whenIdle();
    const png = await app.api(res.headers.get('location')!);
    assert.equal(png.status, 200);
    assert.deepEqual(Buffer.from(await png.arrayBuffer()).subarray(0, 8), PNG_SIGNATURE);
    const completed = app.broker.read(GenerationTopics.singleAdCompleted.name).map((m) => JSON.parse(m.value) as Json);
    assert.ok(
      completed.some((c) => c.ad?.path === body.ad.path && c.origin === 'direct'),
      'the outcome went out as an event',
    );
  });

  it("a conversation's yes answers generating; the ad reaches the conversation by event (GET and the update)", async () => {
    let res = await app.api('/v1/conversations', { method: 'POST', json: { segment: 'plant lovers' } });
    assert.equal(res.status, 201, await res.clone().text());
    const c = (await res.json()) as Json;
    res = await app.api(`/v1/conversations/${c.id}/messages`, { method: 'POST', json: { text: 'yes' } });
    assert.equal(((await res.json()) as Json).status, 'awaiting-seed');
    res = await app.api(`/v1/conversations/${c.id}/messages`, { method: 'POST', json: { text: 'yes' } });
    assert.equal(res.status, 200);
    const generating = (await res.json()) as Json;
    assert.equal(generating.status, 'generating');
    assert.equal(generating.ad, undefined);
    await app.whenIdle();
    const done = (await (await app.api(`/v1/conversations/${c.id}`)).json()) as Json;
    assert.equal(done.status, 'done', JSON.stringify(done.messages.slice(-2)));
    assert.equal(done.ad.seedPath, seedPath);
    assert.match(done.messages.at(-1).text, /Your ad is ready/);
    const png = await app.api(done.ad.url);
    assert.equal(png.status, 200);
  });
});
