import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launchChromium } from '@adseed/testing';
import type { Browser, ConsoleMessage, Page } from 'playwright-core';
import { startTestApp, type TestApp } from './harness';
import { brandPack, scene, SEEDS } from './job-fixtures';

type Json = Record<string, any>;
const STEP_TIMEOUT_MS = 120_000;

describe('web UI: sign-in, the review queue and blind A/B voting in a real browser', { timeout: 600_000 }, () => {
  let app: TestApp;
  let browser: Browser;
  let page: Page;
  let experimentId: string;
  const problems: string[] = [];
  const as =
    (key: string) =>
    (path: string, init: RequestInit & { json?: unknown } = {}) => {
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${key}`);
      return app.api(path, { ...init, headers });
    };

  before(async () => {
    app = await startTestApp({ env: { ADSEED_API_KEYS: 'k-mk:shop:marketer:mia,k-rv:shop:reviewer:rob', ADSEED_REVIEW_POLICY: '{"shop":"always-review"}' } });
    const upload = async (bytes: Buffer, name: string, fields: Record<string, string>) => {
      const form = new FormData();
      form.set('file', new Blob([new Uint8Array(bytes)]), name);
      for (const [k, v] of Object.entries(fields)) form.set(k, v);
      const res = await as('k-mk')('/v1/assets', { method: 'POST', body: form });
      assert.equal(res.status, 201);
      return ((await res.json()) as Json).asset.path as string;
    };
    const seeds = [await upload(await scene(SEEDS[0][2], SEEDS[0][3], 0), SEEDS[0][0], { caption: SEEDS[0][1] })];
    const brand = await upload(await brandPack(), 'pack.png', { kind: 'brand' });
    await app.whenIdle();
    const ad = await as('k-mk')('/v1/ads', { method: 'POST', json: { seedPath: seeds[0], brandPath: brand } });
    assert.equal(ad.status, 201);
    const created = await as('k-rv')('/v1/experiments', {
      method: 'POST',
      json: {
        name: 'corners',
        brandPath: brand,
        seedPaths: seeds,
        configurations: [
          { name: 'bottom-right', placement: 'bottom-right' },
          { name: 'top-left', placement: 'top-left' },
        ],
      },
    });
    assert.equal(created.status, 202);
    experimentId = ((await created.json()) as Json).experiment.id;
    for (;;) {
      const { experiment } = (await (await as('k-rv')(`/v1/experiments/${experimentId}`)).json()) as Json;
      if (experiment.status !== 'generating') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
    page.on('console', (message: ConsoleMessage) => {
      if (message.type() === 'error' && !/status of 40[013]/.test(message.text())) problems.push(`console.error: ${message.text()}`);
    });
  });
  after(async () => {
    await browser?.close();
    await app?.whenIdle();
    await app?.stop();
  });

  it('signs in with a reviewer key, shows the pending ad, refuses a rejection without a reason, approves it', async () => {
    await page.goto(app.url);
    await page.getByTestId('api-key').fill('k-rv');
    await page.getByTestId('sign-in-button').click();
    await page
      .getByTestId('signed-in')
      .filter({ hasText: /Signed in \(key …k-rv, reviewer\)/ })
      .waitFor({ timeout: STEP_TIMEOUT_MS });
    await page.getByTestId('tab-review').click();
    const item = page.getByTestId('review-item');
    await item.first().waitFor({ timeout: STEP_TIMEOUT_MS });
    assert.equal(await item.count(), 1);
    await page.waitForFunction(
      () => {
        const img = document.querySelector<HTMLImageElement>('[data-testid="review-item"] img');
        return Boolean(img?.complete && img.naturalWidth === 1080);
      },
      undefined,
      { timeout: STEP_TIMEOUT_MS },
    );
    assert.match((await item.first().textContent()) ?? '', /product fidelity 0\.9\d\d/);
    await item.first().getByRole('button', { name: 'Reject' }).click();
    await page.waitForFunction(() => /reason/i.test(document.querySelector('[data-testid="review-error"]')?.textContent ?? ''), undefined, {
      timeout: STEP_TIMEOUT_MS,
    });
    await item.first().getByRole('button', { name: 'Approve' }).click();
    await page.waitForFunction(() => document.querySelector('[data-testid="review-list"]')?.textContent === 'Nothing is waiting for review.', undefined, {
      timeout: STEP_TIMEOUT_MS,
    });
    const { items } = (await (await as('k-rv')('/v1/reviews?status=approved')).json()) as Json;
    assert.deepEqual(
      items.map((r: Json) => r.decidedBy),
      ['rob'],
    );
  });

  it('shows a blind pair, counts three votes and shows the results table', async () => {
    await page.getByTestId('tab-ab').click();
    await page.getByTestId('ab-id').fill(experimentId);
    await page.getByTestId('ab-open').getByRole('button', { name: 'Open' }).click();
    for (let vote = 1; vote <= 3; vote++) {
      await page.waitForFunction(
        () =>
          ['ab-left', 'ab-right'].every((id) => {
            const img = document.querySelector(`[data-testid="${id}"]`) as HTMLImageElement;
            return img.complete && img.naturalWidth === 1080;
          }),
        undefined,
        { timeout: STEP_TIMEOUT_MS },
      );
      await page.getByTestId('ab-choose-left').click();
      await page.waitForFunction((n) => (document.querySelector('[data-testid="ab-status"]')?.textContent ?? '').includes(`${n} votes`), vote, {
        timeout: STEP_TIMEOUT_MS,
      });
    }
    const rows = await page.$$eval('[data-testid="ab-results"] tbody tr', (trs) =>
      trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent)),
    );
    assert.equal(rows.length, 2);
    assert.deepEqual(
      rows.map((r) => r[3]),
      ['3', '3'],
      'each configuration was in all three pairs',
    );
    assert.equal(
      rows.reduce((t, r) => t + Number(r[2]), 0),
      3,
      'three wins in all',
    );
    await page.screenshot({ path: '/tmp/adseed-ui-ab.png', fullPage: true });
    assert.deepEqual(problems, []);
  });

  it('a signed-in page shows images and gets SSE updates through the HttpOnly session cookie (keys on)', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const own = await context.newPage();
    own.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
    const responses: { path: string; status: number }[] = [];
    own.on('response', (r) => responses.push({ path: new URL(r.url()).pathname, status: r.status() }));
    try {
      await own.goto(app.url);
      await own.getByTestId('api-key').fill('k-rv');
      await own.getByTestId('sign-in-button').click();
      await own.getByTestId('signed-in').filter({ hasText: 'reviewer' }).waitFor({ timeout: STEP_TIMEOUT_MS });
      const cookie = (await context.cookies()).find((c) => c.name === 'adseed_session');
      assert.ok(cookie, 'signing in set the session cookie');
      assert.deepEqual([cookie.httpOnly, cookie.sameSite, cookie.path], [true, 'Strict', '/v1']);
      assert.equal(await own.evaluate(() => document.cookie.includes('adseed_session')), false, 'page scripts cannot read it');

      const created = own.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/v1/conversations', {
        timeout: STEP_TIMEOUT_MS,
      });
      await own.getByTestId('segment-input').fill('outdoor surfboard');
      await own.getByTestId('segment-submit').click();
      const conversation = (await (await created).json()) as Json;
      await own.getByTestId('subject-card').waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
      // Another client moves the conversation on: only the page's event stream can bring the news
      // (the page polls only while an ad is generating).
      const moved = await as('k-rv')(`/v1/conversations/${conversation.id}/messages`, { method: 'POST', json: { text: 'yes' } });
      assert.equal(((await moved.json()) as Json).status, 'awaiting-seed');
      await own.getByTestId('seed-card').waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
      const loaded = (testId: string) =>
        own.waitForFunction(
          (id) => {
            const img = document.querySelector<HTMLImageElement>(`[data-testid="${id}"]`);
            return Boolean(img?.complete && img.naturalWidth > 0);
          },
          testId,
          { timeout: STEP_TIMEOUT_MS },
        );
      await loaded('seed-image');
      const done = (await (await as('k-rv')(`/v1/conversations/${conversation.id}/messages`, { method: 'POST', json: { text: 'yes' } })).json()) as Json;
      assert.equal(done.status, 'done', JSON.stringify(done.messages?.at(-1)));
      await own.getByTestId('ad-card').waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
      await loaded('ad-image');
      const stream = responses.filter((r) => r.path === `/v1/conversations/${conversation.id}/events`);
      assert.ok(stream.length > 0 && stream.every((r) => r.status === 200), JSON.stringify(stream));
      assert.ok(
        responses.some((r) => r.path === '/v1/assets/content' && r.status === 200),
        'the <img> requests were authenticated',
      );
      // Only the page's first "who am I?" before signing in was refused.
      assert.deepEqual(
        responses.filter((r) => r.status === 401),
        [{ path: '/v1/session', status: 401 }],
      );

      // Signed out: the cookie is gone, and the same image URL is refused.
      await own.getByTestId('sign-out').click();
      await own.getByTestId('sign-in-button').waitFor({ state: 'visible' });
      await own.waitForFunction(() => !document.body.dataset.role);
      assert.equal(
        (await context.cookies()).some((c) => c.name === 'adseed_session'),
        false,
      );
      assert.equal(await own.evaluate((url) => fetch(url, { cache: 'no-store' }).then((r) => r.status), done.ad.url as string), 401);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});
