import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { MinioObjectStore, type ObjectStore } from '@adseed/storage';
import { startTestApp, type TestApp } from './harness';
import { unusedPort } from '@adseed/testing';

type Json = Record<string, any>;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const API_KEY = 'e2e-secret-key-7f3a';
const OTHER_SECRET = 'x-api-key-secret-91b2';

describe('request ids, error bodies, logs and infrastructure failures, end to end (embedded mode)', () => {
  let app: TestApp;
  const logs: string[] = [];
  const auth = { authorization: `Bearer ${API_KEY}` };
  // With API keys on, the gateway's /metrics (it names tenants) takes its own token.
  const METRICS_TOKEN = 'metrics-token-0123456789';
  const lines = () => logs.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Json);

  before(async () => {
    app = await startTestApp({
      logSink: (line) => logs.push(line),
      env: { ADSEED_API_KEYS: `${API_KEY}:acme:admin:e2e`, ADSEED_METRICS_TOKEN: METRICS_TOKEN, LOG_LEVEL: 'debug', LOG_FORMAT: 'json' },
    });
  });
  after(() => app?.stop());

  it('echoes a well-formed X-Request-Id, replaces a malformed one, makes one when none is sent', async () => {
    const given = await app.api('/v1/assets', { headers: { ...auth, 'x-request-id': 'client.req-42' } });
    assert.equal(given.status, 200);
    assert.equal(given.headers.get('x-request-id'), 'client.req-42');
    const malformed = await app.api('/v1/assets', { headers: { ...auth, 'x-request-id': 'a b <script>' } });
    assert.match(malformed.headers.get('x-request-id') ?? '', UUID);
    const none = await app.api('/livez');
    assert.match(none.headers.get('x-request-id') ?? '', UUID);
  });

  it('every error body carries the request id of its X-Request-Id header', async () => {
    const cases: [string, RequestInit & { json?: unknown }, number][] = [
      ['/v1/conversations/nope', { headers: auth }, 404],
      ['/v1/assets', {}, 401],
      ['/v1/search', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"text":' }, 400],
      ['/v1/search', { method: 'DELETE', headers: auth }, 405],
    ];
    for (const [path, init, status] of cases) {
      const res = await app.api(path, init);
      assert.equal(res.status, status, path);
      const body = (await res.json()) as Json;
      assert.equal(body.error.status, status);
      assert.match(body.error.requestId, UUID, `${init.method ?? 'GET'} ${path}`);
      assert.equal(body.error.requestId, res.headers.get('x-request-id'));
    }
  });

  it('every line the request logs carries its id; no secret is ever logged', async () => {
    const res = await app.api('/v1/subjects', { headers: { ...auth, 'x-api-key': OTHER_SECRET, 'x-request-id': 'trace-me-123' } });
    assert.equal(res.status, 200);
    const own = lines().filter((l) => l.requestId === 'trace-me-123');
    const done = own.find((l) => l.res?.statusCode === 200);
    assert.ok(done, `no completion line for the request in:\n${logs.slice(-20).join('\n')}`);
    assert.equal(done.req?.method, 'GET');
    assert.equal(typeof done.responseTime, 'number');
    const all = logs.join('\n');
    for (const secret of [API_KEY, OTHER_SECRET]) assert.ok(!all.includes(secret), `${secret} was logged`);
  });

  it("/metrics has the process metrics once (CPU, memory, event-loop lag), beside the services' own", async () => {
    const text = await (await app.api('/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) {
      const series = text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
      assert.equal(series.length, 1, `${name}: ${series.join(' | ')}`);
    }
    assert.match(text, /http_requests_total\{[^}]*service="gateway"/);
  });

  describe('the object store refuses (MinIO adapter on a port nothing listens on)', () => {
    const methods = ['get', 'put', 'stat', 'list', 'delete', 'ensureBucket'] as const;
    let saved: Pick<ObjectStore, (typeof methods)[number]>;

    before(async () => {
      const dead = new MinioObjectStore({
        endPoint: '127.0.0.1',
        port: await unusedPort(),
        useSSL: false,
        accessKey: 'adseed',
        secretKey: 'store-secret-never-logged',
        region: 'us-east-1',
      });
      const store = app.store as unknown as Record<string, unknown>;
      saved = Object.fromEntries(methods.map((m) => [m, store[m]])) as typeof saved;
      for (const m of methods) store[m] = (dead[m] as (...args: unknown[]) => unknown).bind(dead);
    });
    const restore = () => Object.assign(app.store, saved);

    it('a conversation answers 503 unavailable with Retry-After (was 422 conversation_rejected), and readiness says why', async () => {
      const res = await app.api('/v1/conversations', { method: 'POST', headers: auth, json: { segment: 'weekend campers' } });
      const body = (await res.json()) as Json;
      assert.equal(res.status, 503, JSON.stringify(body));
      assert.equal(body.error.code, 'unavailable');
      assert.equal(res.headers.get('retry-after'), '5');
      assert.equal(body.error.requestId, res.headers.get('x-request-id'));
      assert.doesNotMatch(body.error.message, /127\.0\.0\.1|ECONNREFUSED/, 'no internal address reaches the caller');

      const ready = await app.api('/readyz');
      assert.equal(ready.status, 503);
      const health = (await ready.json()) as Json;
      assert.equal(health.status, 'error');
      assert.equal(health.error.objectStore.status, 'down');
    });

    it('an upload the gateway cannot store answers 503, logged as an error with its cause', async () => {
      const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 40, b: 40 } } })
        .jpeg()
        .toBuffer();
      const form = new FormData();
      form.set('file', new Blob([new Uint8Array(jpeg)]), 'red.jpg');
      const res = await app.api('/v1/assets', { method: 'POST', headers: { ...auth, 'x-request-id': 'upload-while-down' }, body: form });
      const body = (await res.json()) as Json;
      assert.equal(res.status, 503, JSON.stringify(body));
      assert.equal(body.error.code, 'unavailable');
      assert.equal(res.headers.get('retry-after'), '5');
      const failed = lines().find((l) => l.requestId === 'upload-while-down' && l.msg === 'request failed');
      assert.ok(failed, 'the gateway logs the 503 with the request id');
      assert.equal(failed.level, 'error');
      assert.equal(failed.error?.code, 'ECONNREFUSED');
      assert.match(failed.error?.stack ?? '', /\n\s+at /);
      const conversation = await app.api('/v1/conversations', {
        method: 'POST',
        headers: { ...auth, 'x-request-id': 'conversation-while-down' },
        json: { segment: 'city cyclists' },
      });
      assert.equal(conversation.status, 503);
      // The id travels with the bus message: the agent's line about it carries it too.
      const agent = lines().find((l) => l.msg === 'conversation command failed' && l.requestId === 'conversation-while-down');
      assert.ok(agent, 'the agent logs the failure it mapped, with the request id');
      assert.equal(agent.status, 503);
      assert.equal(agent.error?.code ?? agent.error?.cause?.code, 'ECONNREFUSED');
      assert.match(agent.error?.stack ?? '', /\n\s+at /);
      assert.ok(!logs.join('\n').includes('store-secret-never-logged'));
    });

    it('once the store answers again: ready, and the same requests succeed', async () => {
      restore();
      assert.equal((await app.api('/readyz')).status, 200);
      const res = await app.api('/v1/conversations', { method: 'POST', headers: auth, json: { segment: 'weekend campers' } });
      assert.equal(res.status, 201, await res.text());
      assert.equal(res.headers.get('retry-after'), null);
    });

    it('what the caller gets wrong stays a 4xx: an empty segment is 400, not 503', async () => {
      const res = await app.api('/v1/conversations', { method: 'POST', headers: auth, json: { segment: '   ' } });
      assert.equal(res.status, 400);
    });
  });
});
