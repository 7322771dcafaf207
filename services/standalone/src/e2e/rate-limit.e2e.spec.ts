import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { runCli } from '../cli';
import { startTestApp, type TestApp } from './harness';

type Json = Record<string, any>;

// A bucket of 3 refilled with one token every 4 s: the 4th call in a row is refused (a slow
// machine would need 4 s between calls to see anything else).
const LIMITS = { ADSEED_RATE_LIMIT_PER_SECOND: '0.25', ADSEED_RATE_LIMIT_BURST: '3' };

async function assertRateLimited(res: Response): Promise<void> {
  assert.equal(res.status, 429, await res.clone().text());
  const retryAfter = res.headers.get('retry-after');
  assert.match(retryAfter ?? '', /^[1-9][0-9]*$/, `Retry-After in whole seconds, got ${retryAfter}`);
  const body = (await res.json()) as Json;
  assert.equal(body.error.status, 429);
  assert.equal(body.error.code, 'rate_limited');
  assert.match(body.error.message, /at most 0.25\/s with bursts of 3/);
  assert.match(body.error.message, /retry after [1-9]/);
}

describe('rate limits on /v1, through the REST API', () => {
  describe('with API keys: one bucket per key', () => {
    let app: TestApp;
    before(async () => {
      // With keys on, /metrics takes its own token (it names every tenant).
      app = await startTestApp({
        env: { ...LIMITS, ADSEED_API_KEYS: 'key-one:acme,key-two:acme,key-three:other', ADSEED_METRICS_TOKEN: 'metrics-token-0123456789' },
      });
      await app.demoLibrary; // its brand pack is written in the background: let it finish before stop() removes the folder
    });
    after(() => app?.stop());
    const call = (key: string, path = '/v1/assets') => app.api(path, { headers: { authorization: `Bearer ${key}` } });

    it('the burst passes, the next call is 429 with Retry-After, and the key works again after it', async () => {
      for (let i = 0; i < 3; i++) assert.equal((await call('key-one')).status, 200, `call ${i + 1} of the burst`);
      const refused = await call('key-one');
      const wait = Number(refused.headers.get('retry-after'));
      await assertRateLimited(refused);
      assert.equal((await call('key-one', '/v1/subjects')).status, 429, 'the bucket is per key, not per route');

      assert.equal((await call('key-two')).status, 200, 'another key of the same tenant has its own bucket');
      assert.equal((await call('key-three')).status, 200, "another tenant's key is not affected");

      await sleep(wait * 1000 + 100);
      assert.equal((await call('key-one')).status, 200, 'a token came back after Retry-After');
    });

    it('health, readiness, metrics, docs and the web UI are never limited', async () => {
      for (let i = 0; i < 4; i++) await call('key-three');
      assert.equal((await call('key-three')).status, 429, 'the key is exhausted');
      for (const path of ['/healthz', '/readyz', '/metrics', '/docs', '/', '/app.js']) {
        for (let i = 0; i < 5; i++)
          assert.equal((await call(path === '/metrics' ? 'metrics-token-0123456789' : 'key-three', path)).status, 200, `${path} call ${i + 1}`);
      }
    });

    it('calls with an unknown key are refused 401 and then limited per client', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await call(`unknown-${i}`)).status);
      assert.deepEqual(statuses.slice(0, 3), [401, 401, 401]);
      assert.deepEqual(statuses.slice(3), [429, 429], 'a flood of bad keys is limited like one caller');
    });
  });

  describe('without API keys: one bucket per tenant', () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp({ env: LIMITS });
      await app.demoLibrary; // its brand pack is written in the background: let it finish before stop() removes the folder
    });
    after(() => app?.stop());

    it('one tenant at its limit does not slow another', async () => {
      for (let i = 0; i < 3; i++) assert.equal((await app.api('/v1/assets', { tenant: 'busy' })).status, 200);
      await assertRateLimited(await app.api('/v1/search', { method: 'POST', tenant: 'busy', json: { text: 'a dog' } }));
      assert.equal((await app.api('/v1/assets', { tenant: 'quiet' })).status, 200);
    });
  });

  describe('the CLI under a tight limit', () => {
    let app: TestApp;
    let folder: string;
    before(async () => {
      app = await startTestApp({ env: { ADSEED_RATE_LIMIT_PER_SECOND: '2', ADSEED_RATE_LIMIT_BURST: '1' } });
      await app.demoLibrary;
      folder = await mkdtemp(join(tmpdir(), 'adseed-cli-429-'));
      for (let i = 0; i < 5; i++) {
        await writeFile(
          join(folder, `photo-${i}.jpg`),
          await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 40 * i, g: 90, b: 200 } } })
            .jpeg()
            .toBuffer(),
        );
      }
    });
    after(async () => {
      await app?.stop();
      if (folder) await rm(folder, { recursive: true, force: true });
    });

    it('adseed ingest waits out 429 (Retry-After) and uploads every image', async () => {
      const code = await runCli(['ingest', folder, '--url', app.url, '--tenant', 'cli-429', '--concurrency', '3']);
      assert.equal(code, 0);
      await sleep(1100); // one token back, to list
      const listed = (await (await app.api('/v1/assets?kind=seed', { tenant: 'cli-429' })).json()) as Json;
      assert.equal(listed.items.length, 5);
    });
  });

  describe('with the limit off', () => {
    let app: TestApp;
    before(async () => {
      app = await startTestApp({ env: { ADSEED_RATE_LIMIT_PER_SECOND: '0', ADSEED_RATE_LIMIT_BURST: '1' } });
      await app.demoLibrary; // its brand pack is written in the background: let it finish before stop() removes the folder
    });
    after(() => app?.stop());

    it('ADSEED_RATE_LIMIT_PER_SECOND=0 lets every call through', async () => {
      for (let i = 0; i < 10; i++) assert.equal((await app.api('/v1/assets')).status, 200);
    });
  });
});
