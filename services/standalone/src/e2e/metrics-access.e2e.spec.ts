import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import sharp from 'sharp';
import { startTestApp, type TestApp } from './harness';

type Json = Record<string, any>;

const KEYS = 'k-ad:acme:admin:ada';
const TOKEN = 'scrape-token-0123456789';

/** Puts one photo in tenant acme's index, so the metrics name the tenant (`adseed_index_vectors{tenant="acme"}`). */
async function indexOne(app: TestApp, headers: Record<string, string>): Promise<void> {
  const form = new FormData();
  form.set(
    'file',
    new Blob([
      new Uint8Array(
        await sharp({ create: { width: 64, height: 64, channels: 3, background: '#3366cc' } })
          .jpeg()
          .toBuffer(),
      ),
    ]),
    'blue.jpg',
  );
  form.set('caption', 'a blue square');
  const res = await app.api('/v1/assets', { method: 'POST', body: form, headers });
  assert.equal(res.status, 201, await res.text());
  await app.whenIdle();
}

/** `/metrics` names tenants: once API keys are on it needs a token, or lives on its own port. */
describe('/metrics once API keys are on (embedded mode, end to end)', () => {
  const apps: TestApp[] = [];
  after(async () => {
    for (const app of apps) await app.stop();
  });
  const start = async (env: Record<string, string>) => {
    const app = await startTestApp({ env });
    apps.push(app);
    await app.demoLibrary; // its brand pack is written in the background: let it finish before stop() removes the folder
    return app;
  };

  it('keys on, no token, no port: 401 on the service port, naming the two ways out; health stays open', async () => {
    const app = await start({ ADSEED_API_KEYS: KEYS });
    const res = await app.api('/metrics');
    const body = (await res.json()) as Json;
    assert.equal(res.status, 401);
    assert.match(body.error.message, /ADSEED_METRICS_TOKEN.*METRICS_PORT/);
    assert.equal((await app.api('/v1/assets')).status, 401, 'the API key is not enough either way: metrics take no API key');
    assert.equal(
      (await app.api('/metrics', { headers: { authorization: 'Bearer k-ad' } })).status,
      401,
      'an admin key is one tenant’s, metrics are every tenant’s',
    );
    assert.equal((await app.api('/healthz')).status, 200);
    assert.equal((await app.api('/readyz')).status, 200);
  });

  it('with ADSEED_METRICS_TOKEN: served to the bearer of the token only', async () => {
    const app = await start({ ADSEED_API_KEYS: KEYS, ADSEED_METRICS_TOKEN: TOKEN });
    await indexOne(app, { authorization: 'Bearer k-ad' });
    assert.equal((await app.api('/metrics')).status, 401);
    assert.equal((await app.api('/metrics', { headers: { authorization: `Bearer ${TOKEN}x` } })).status, 401);
    const res = await app.api('/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain;.*version=0\.0\.4/);
    assert.match(await res.text(), /adseed_index_vectors\{[^}]*tenant="acme"[^}]*\} 1/);
  });

  it('with METRICS_PORT: only on that listener (404 on the service port), everything else there is 404', async () => {
    const app = await start({ ADSEED_API_KEYS: KEYS, METRICS_PORT: '0' });
    await indexOne(app, { authorization: 'Bearer k-ad' });
    assert.ok(app.metricsUrl, 'a separate listener is up');
    assert.notEqual(new URL(app.metricsUrl).port, new URL(app.url).port);
    const onService = await app.api('/metrics');
    assert.equal(onService.status, 404);
    assert.match(((await onService.json()) as Json).error.message, /METRICS_PORT/);
    const res = await fetch(`${app.metricsUrl}/metrics`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /adseed_index_vectors\{[^}]*tenant="acme"[^}]*\} 1/);
    assert.equal((await fetch(`${app.metricsUrl}/v1/assets`)).status, 404, 'the metrics port serves nothing else');
    assert.equal((await fetch(`${app.metricsUrl}/metrics`, { method: 'POST' })).status, 404);
  });

  it('METRICS_PORT with a token: the listener asks for the token too', async () => {
    const app = await start({ ADSEED_API_KEYS: KEYS, METRICS_PORT: '0', ADSEED_METRICS_TOKEN: TOKEN });
    assert.equal((await fetch(`${app.metricsUrl}/metrics`)).status, 401);
    assert.equal((await fetch(`${app.metricsUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
  });

  it('without keys (npm start) /metrics stays open on the service port', async () => {
    const app = await start({});
    const res = await app.api('/metrics');
    assert.equal(res.status, 200);
    assert.match(await res.text(), /adseed_http_requests_total|adseed_/);
  });
});
