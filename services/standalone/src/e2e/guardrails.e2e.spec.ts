import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { Queries } from '@adseed/contracts';
import { startTestApp, type TestApp } from './harness';

type Json = Record<string, any>;

const solid = (r: number, g: number, b: number) =>
  sharp({ create: { width: 320, height: 240, channels: 3, background: { r, g, b } } })
    .jpeg()
    .toBuffer();

async function upload(app: TestApp, bytes: Buffer, name: string, fields: Record<string, string> = {}, tenant?: string): Promise<Response> {
  const form = new FormData();
  form.set('file', new Blob([new Uint8Array(bytes)]), name);
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  return app.api('/v1/assets', { method: 'POST', body: form, ...(tenant ? { tenant } : {}) });
}

/** Asserts a 422 moderation_rejected naming exactly these field/category pairs. */
async function assertRejected(res: Response, issues: { field: string; reason: string }[]): Promise<Json> {
  const body = (await res.json()) as Json;
  assert.equal(res.status, 422, JSON.stringify(body));
  assert.equal(body.error.status, 422);
  assert.equal(body.error.code, 'moderation_rejected');
  assert.deepEqual(body.error.issues, issues);
  return body;
}

// The words the tests send; none of them, in any spelling, may reach a log line.
const PROFANE = /fuck|f u c k|sh1t|shit|b1tch|bitch/i;

describe('text guardrail at the gateway, end to end through the REST API (embedded mode)', () => {
  let app: TestApp;
  const lines: string[] = [];
  let seedPath = '';
  let seedId = '';
  let brandPath = '';

  before(async () => {
    app = await startTestApp({
      logSink: (line) => lines.push(line),
      env: { LOG_LEVEL: 'debug', ADSEED_DENY_LISTS: JSON.stringify({ acme: ['RivalCo'] }) },
    });
    const seed = (await (await upload(app, await solid(200, 120, 40), 'seed.jpg', { caption: 'a dog on a beach' })).json()) as Json;
    seedPath = seed.asset.path;
    seedId = seed.asset.id;
    const brand = await upload(app, await solid(20, 20, 200), 'logo.png', { kind: 'brand' });
    assert.equal(brand.status, 201);
    brandPath = ((await brand.json()) as Json).asset.path;
    await app.whenIdle();
  });
  after(() => app?.stop());

  it('rejects a profane segment when a conversation starts, plain or obfuscated, and starts none', async () => {
    const before = app.queries.callsOf(Queries.conversation);
    for (const segment of ['dog owners who say fuck', 'f u c k dog owners', 'sh1t-talking cat people', 'B1TCH please']) {
      await assertRejected(await app.api('/v1/conversations', { method: 'POST', json: { segment } }), [{ field: 'segment', reason: 'profanity' }]);
    }
    assert.equal(app.queries.callsOf(Queries.conversation), before, 'nothing reached the agent');
  });

  it('rejects a profane chat message and leaves the conversation as it was', async () => {
    const commands = app.queries.callsOf(Queries.conversation);
    const created = await app.api('/v1/conversations', { method: 'POST', json: { segment: 'outdoor-loving dog owners' } });
    assert.equal(created.status, 201, 'clean text passes');
    assert.equal(app.queries.callsOf(Queries.conversation), commands + 1, 'and reaches the agent');
    const c = (await created.json()) as Json;
    await assertRejected(await app.api(`/v1/conversations/${c.id}/messages`, { method: 'POST', json: { text: 'show me a fucking beagle' } }), [
      { field: 'text', reason: 'profanity' },
    ]);
    const after = (await (await app.api(`/v1/conversations/${c.id}`)).json()) as Json;
    assert.deepEqual(after.messages, c.messages);
    const clean = await app.api(`/v1/conversations/${c.id}/messages`, { method: 'POST', json: { text: 'different subject' } });
    assert.equal(clean.status, 200, 'clean text passes');
  });

  it('rejects a profane headline or call to action on POST /v1/ads, naming each field; clean copy makes an ad', async () => {
    await assertRejected(await app.api('/v1/ads', { method: 'POST', json: { seedPath, headline: 'Sh1t-hot deals' } }), [
      { field: 'headline', reason: 'profanity' },
    ]);
    await assertRejected(await app.api('/v1/ads', { method: 'POST', json: { seedPath, headline: 'Fresh food', callToAction: 'Buy this shit' } }), [
      { field: 'callToAction', reason: 'profanity' },
    ]);
    await assertRejected(await app.api('/v1/ads', { method: 'POST', json: { segment: 'fuck', headline: 'f.u.c.k yeah' } }), [
      { field: 'segment', reason: 'profanity' },
      { field: 'headline', reason: 'profanity' },
    ]);
    const ok = await app.api('/v1/ads', { method: 'POST', json: { seedPath, headline: 'Real food for real adventures', callToAction: 'Shop now' } });
    assert.equal(ok.status, 201, await ok.clone().text());
  });

  it('rejects a profane segment (any element of the list), headline or call to action on POST /v1/jobs and starts no job', async () => {
    const jobs = async () => (((await (await app.api('/v1/jobs')).json()) as Json).items as Json[]).length;
    const before = await jobs();
    const job = { brandPath, formats: ['1:1'], variants: 1 };
    await assertRejected(await app.api('/v1/jobs', { method: 'POST', json: { ...job, segments: ['outdoor families', 'people who say f u c k'] } }), [
      { field: 'segments', reason: 'profanity' },
    ]);
    await assertRejected(
      await app.api('/v1/jobs', { method: 'POST', json: { ...job, seedPaths: [seedPath], headline: 'Sh1t-hot deals', callToAction: 'Buy this shit' } }),
      [
        { field: 'headline', reason: 'profanity' },
        { field: 'callToAction', reason: 'profanity' },
      ],
    );
    assert.equal(await jobs(), before, 'no job was created');
    const ok = await app.api('/v1/jobs', { method: 'POST', json: { ...job, seedPaths: [seedPath], headline: 'Real food for real adventures' } });
    assert.equal(ok.status, 202, await ok.clone().text());
    await app.whenIdle();
  });

  it('rejects a profane caption on upload and stores nothing', async () => {
    const before = (await (await app.api('/v1/assets?kind=seed')).json()) as Json;
    await assertRejected(await upload(app, await solid(1, 2, 3), 'x.jpg', { caption: 'a shitty dog' }), [{ field: 'caption', reason: 'profanity' }]);
    const after = (await (await app.api('/v1/assets?kind=seed')).json()) as Json;
    assert.equal(after.items.length, before.items.length);
  });

  it('checks every element of a list (tags) and subject names, descriptions and audiences', async () => {
    await assertRejected(await app.api(`/v1/assets/${seedId}`, { method: 'PATCH', json: { tags: ['beach', 'sh1t'] } }), [
      { field: 'tags', reason: 'profanity' },
    ]);
    await assertRejected(await app.api('/v1/subjects', { method: 'POST', json: { name: 'bitch', audience: 'fucking everyone' } }), [
      { field: 'name', reason: 'profanity' },
      { field: 'audience', reason: 'profanity' },
    ]);
    const ok = await app.api(`/v1/assets/${seedId}`, { method: 'PATCH', json: { tags: ['beach', 'dog'] } });
    assert.equal(ok.status, 202, await ok.clone().text());
  });

  it("applies a tenant's deny list to that tenant only", async () => {
    await assertRejected(await app.api('/v1/conversations', { method: 'POST', json: { segment: 'people who buy RivalCo' }, tenant: 'acme' }), [
      { field: 'segment', reason: 'deny_list' },
    ]);
    assert.equal((await app.api('/v1/conversations', { method: 'POST', json: { segment: 'people who buy RivalCo' }, tenant: 'other' })).status, 201);
  });

  it('never writes the rejected text to the logs, but logs the rejection (field and category)', async () => {
    const joined = lines.join('\n');
    assert.ok(lines.length > 10, 'the sink captured the run (debug level)');
    const rejections = lines.filter((l) => l.includes('text rejected by the guardrail'));
    assert.ok(rejections.length >= 10, `${rejections.length} rejections logged`);
    assert.match(rejections[0], /"category":"profanity"/);
    assert.doesNotMatch(joined, PROFANE);
  });
});

describe('text guardrail with an OpenAI-compatible moderation endpoint (a local server the test starts)', () => {
  let app: TestApp;
  let server: Server;
  const inputs: string[][] = [];
  let down = false;

  before(async () => {
    // Speaks OpenAI's /moderations format; flags any input that mentions "hurt".
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (down) return void res.writeHead(503).end('down');
        const { input } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { input: string[] };
        inputs.push(input);
        const results = input.map((t) => ({ flagged: /hurt/.test(t), categories: { harassment: /hurt/.test(t), violence: /hurt/.test(t), sexual: false } }));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'modr-1', model: 'm', results }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    app = await startTestApp({ env: { ADSEED_MODERATION_URL: url, ADSEED_MODERATION_TIMEOUT_MS: '2000' } });
  });
  after(async () => {
    await app?.stop();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  it("rejects what the endpoint flags with the endpoint's categories; passes the rest", async () => {
    await assertRejected(await app.api('/v1/conversations', { method: 'POST', json: { segment: 'people we will hurt' } }), [
      { field: 'segment', reason: 'harassment' },
      { field: 'segment', reason: 'violence' },
    ]);
    assert.equal((await app.api('/v1/conversations', { method: 'POST', json: { segment: 'busy parents' } })).status, 201);
    assert.deepEqual(inputs, [['people we will hurt'], ['busy parents']]);
  });

  it('does not ask the endpoint when the offline filter already rejects', async () => {
    const asked = inputs.length;
    await assertRejected(await app.api('/v1/conversations', { method: 'POST', json: { segment: 'fuck' } }), [{ field: 'segment', reason: 'profanity' }]);
    assert.equal(inputs.length, asked);
  });

  it('fails closed: 503 moderation_unavailable when the endpoint is down', async () => {
    down = true;
    try {
      const res = await app.api('/v1/conversations', { method: 'POST', json: { segment: 'busy parents' } });
      assert.equal(res.status, 503);
      assert.equal(((await res.json()) as Json).error.code, 'moderation_unavailable');
    } finally {
      down = false;
    }
  });
});
