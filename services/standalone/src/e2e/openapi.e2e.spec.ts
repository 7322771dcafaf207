import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT } from '../adseed.app';
import { startTestApp, type TestApp } from './harness';

/**
 * The running gateway generates its OpenAPI document from its own controllers; `scripts/openapi.js`
 * from the same controllers without a gateway. What the product serves is what is committed (and
 * what Schemathesis tests against).
 */
describe('the OpenAPI document the embedded product serves', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp();
  });
  after(() => app?.stop());

  it('is the committed docs/openapi.json', async () => {
    const res = await app.api('/docs/openapi.json');
    assert.equal(res.status, 200);
    const committed: unknown = JSON.parse(readFileSync(join(REPO_ROOT, 'docs', 'openapi.json'), 'utf8'));
    assert.deepEqual(await res.json(), committed);
  });

  it('its routes are the ones a wrong method is answered 405 for, with the methods it declares', async () => {
    const res = await app.api('/v1/jobs/abc/cancel', { method: 'GET' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'POST');
    const assets = await app.api('/v1/assets', { method: 'PUT' });
    assert.equal(assets.status, 405);
    assert.equal(assets.headers.get('allow'), 'POST, GET, HEAD');
  });
});
