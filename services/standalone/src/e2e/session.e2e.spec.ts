import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestApp, type TestApp } from './harness';

type Json = Record<string, any>;

/** The web UI's session cookie through REST: what it proves, and what it cannot do. */
describe('session cookie for the signed-in web UI (embedded mode, end to end)', () => {
  let app: TestApp;
  let cookie = '';
  const withCookie = (value: string, init: RequestInit & { json?: unknown } = {}) => {
    const headers = new Headers(init.headers);
    headers.set('cookie', `other=1; adseed_session=${value}`);
    return { ...init, headers };
  };

  before(async () => {
    app = await startTestApp({ env: { ADSEED_API_KEYS: 'k-mk:shop:marketer:mia,k-ad:shop:admin:ada' } });
    await app.demoLibrary; // its brand pack is written in the background: let it finish before stop() removes the folder
  });
  after(() => app?.stop());

  it('POST /v1/session with the key sets an HttpOnly, SameSite=Strict cookie on /v1', async () => {
    const res = await app.api('/v1/session', { method: 'POST', headers: { authorization: 'Bearer k-mk' } });
    const body = (await res.json()) as Json;
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.deepEqual({ ...body.session, expiresAt: undefined }, { tenant: 'shop', role: 'marketer', actor: 'mia', via: 'key', expiresAt: undefined });
    const ttl = (Date.parse(body.session.expiresAt) - Date.now()) / 1000;
    assert.ok(ttl > 8 * 3600 - 60 && ttl <= 8 * 3600, `expires in ${ttl} s`);
    const setCookie = res.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /^adseed_session=[\w-]+\.[\w-]+; Path=\/v1; HttpOnly; SameSite=Strict; Max-Age=28800$/);
    cookie = /^adseed_session=([^;]+)/.exec(setCookie)![1];
    assert.doesNotMatch(cookie, /k-mk/);
    const https = await app.api('/v1/session', { method: 'POST', headers: { authorization: 'Bearer k-mk', 'x-forwarded-proto': 'https' } });
    assert.match(https.headers.get('set-cookie') ?? '', /; Secure$/);
  });

  it('the cookie alone authenticates reads, as the key’s tenant and role', async () => {
    const who = (await (await app.api('/v1/session', withCookie(cookie))).json()) as Json;
    assert.deepEqual([who.session.actor, who.session.role, who.session.via], ['mia', 'marketer', 'session']);
    assert.equal((await app.api('/v1/assets?kind=seed', withCookie(cookie))).status, 200);
    const audit = await app.api('/v1/audit', withCookie(cookie));
    assert.equal(audit.status, 403, 'roles apply as with the key');
  });

  it('the cookie never authenticates a change (no cross-site request can ride on it)', async () => {
    const res = await app.api('/v1/conversations', withCookie(cookie, { method: 'POST', json: { segment: 'busy parents' } }));
    const body = (await res.json()) as Json;
    assert.equal(res.status, 401);
    assert.deepEqual(body.error.issues, [{ field: 'authorization', reason: 'a session cookie is accepted on GET only' }]);
  });

  it('a forged or altered cookie is refused', async () => {
    const [payload, signature] = cookie.split('.');
    const admin = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), role: 'admin' })).toString('base64url');
    // The signature's first character changed (to another one: one run in 64 it was already 'x').
    const altered = `${payload}.${signature.startsWith('x') ? 'y' : 'x'}${signature.slice(1)}`;
    for (const forged of [`${admin}.${signature}`, altered, 'nonsense']) {
      const res = await app.api('/v1/audit', withCookie(forged));
      assert.equal(res.status, 401);
      assert.match(((await res.json()) as Json).error.issues[0].reason, /session expired or no longer valid/);
    }
  });

  it('DELETE /v1/session clears the cookie, without a key', async () => {
    const res = await app.api('/v1/session', { method: 'DELETE' });
    assert.equal(res.status, 204);
    assert.match(res.headers.get('set-cookie') ?? '', /^adseed_session=; Path=\/v1; HttpOnly; SameSite=Strict; Max-Age=0$/);
  });
});

describe('session without API keys', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
    await app.demoLibrary;
  });
  after(() => app?.stop());

  it('POST /v1/session names the local admin and sets nothing', async () => {
    const res = await app.api('/v1/session', { method: 'POST' });
    assert.equal(res.status, 200);
    assert.deepEqual(((await res.json()) as Json).session, { tenant: 'demo', role: 'admin', actor: 'local', via: 'none' });
    assert.equal(res.headers.get('set-cookie'), null);
  });
});
