import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { launchChromium } from '@adseed/testing';
import type { Browser, ConsoleMessage, Locator, Page } from 'playwright-core';
import sharp from 'sharp';

import { startAdseed, type RunningAdseed } from '../adseed.app';
import { testModels } from './harness';

// Generous ceilings, not expectations: a cold CPU-only machine may need a while to embed or compose.
const SUITE_TIMEOUT_MS = 600_000;
const STEP_TIMEOUT_MS = 60_000;
const AD_TIMEOUT_MS = 180_000;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const SCREENSHOT_PREFIX = '/tmp/adseed-ui-';
const SEGMENT = 'young urban professionals';
const HEADLINE = 'Dinner is served';

/** Collects what the page reports as broken, so a test can insist there was nothing. */
function watchForPageErrors(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  page.on('console', (message: ConsoleMessage) => {
    if (message.type() === 'error') problems.push(`console.error: ${message.text()}`);
  });
  return problems;
}

async function screenshot(page: Page, stage: string): Promise<void> {
  await page.screenshot({ path: `${SCREENSHOT_PREFIX}${stage}.png`, fullPage: true });
}

/** Waits until the <img> has actually decoded pixels, not merely got a src. */
async function waitForLoadedImage(image: Locator): Promise<string> {
  await image.waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
  // `complete` turns true on success and on failure alike; naturalWidth tells them apart.
  await image.page().waitForFunction((element) => element instanceof HTMLImageElement && element.src !== '' && element.complete, await image.elementHandle(), {
    timeout: STEP_TIMEOUT_MS,
  });
  const { src, naturalWidth } = await image.evaluate((element) => ({
    src: (element as HTMLImageElement).src,
    naturalWidth: (element as HTMLImageElement).naturalWidth,
  }));
  assert.ok(naturalWidth > 0, `image ${src} did not load`);
  return src;
}

describe('web UI in a real browser', { timeout: SUITE_TIMEOUT_MS }, () => {
  let app: RunningAdseed;
  let browser: Browser;
  let dataDir: string;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'adseed-web-ui-'));
    // Default seedLibraryDir: the bundled demo library, so there are real photos to pick from.
    app = await startAdseed({ dataDir, port: 0, logSink: () => undefined, ...(await testModels()) });
    const library = await app.demoLibrary;
    assert.ok(library.photos > 0, 'the demo library has photos to build ads on');
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await app?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('takes a segment, a headline and a call to action through subject, seed photos and accept to a downloadable PNG ad', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    const problems = watchForPageErrors(page);
    try {
      await page.goto(app.url);
      await page.getByTestId('attribution').waitFor();
      assert.match(await page.getByTestId('attribution').innerText(), /Oxford-IIIT Pet Dataset/);

      await page.getByTestId('segment-input').fill(SEGMENT);
      await page.getByTestId('headline-input').fill(HEADLINE);
      await page.getByTestId('cta-input').fill('Shop now');
      const created = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/v1/conversations');
      await page.getByTestId('segment-submit').click();
      const conversationId = ((await (await created).json()) as { id: string }).id;

      const subjectCard = page.getByTestId('subject-card');
      await subjectCard.waitFor({ state: 'visible' });
      const subject = (await page.getByTestId('subject-name').innerText()).trim();
      assert.ok(subject.length > 0, 'the proposed subject has a name');
      assert.ok((await page.getByTestId('subject-reason').innerText()).trim().length > 0, 'the subject has a reason');
      const userBubbles = page.locator('[data-testid="chat-message"][data-role="user"]');
      assert.match(await userBubbles.first().innerText(), new RegExp(SEGMENT));
      assert.ok((await page.locator('[data-testid="chat-message"][data-role="agent"]').count()) > 0, 'the agent spoke');
      await screenshot(page, '1-subject');

      await page.getByTestId('subject-yes').click();
      await page.getByTestId('seed-card').waitFor({ state: 'visible' });
      const firstSeed = await waitForLoadedImage(page.getByTestId('seed-image'));
      // The card shows the ad's text as given at the start, editable until the photo is accepted.
      assert.equal(await page.getByTestId('seed-headline').inputValue(), HEADLINE);
      assert.equal(await page.getByTestId('seed-cta').inputValue(), 'Shop now');
      const firstRank = await page.getByTestId('seed-rank').innerText();
      const rankPattern = /^(\d+) of (\d+)$/;
      const [, firstPosition, seedCount] = rankPattern.exec(firstRank.trim()) ?? [];
      assert.equal(firstPosition, '1', `first seed shows rank 1, got "${firstRank}"`);
      assert.ok(Number(seedCount) >= 2, `need at least two seeds to try Next, got "${firstRank}"`);
      assert.ok((await page.getByTestId('seed-caption').innerText()).trim().length > 0, 'the seed has a caption');
      await screenshot(page, '2-seed');

      await page.getByTestId('seed-next').click();
      await page
        .getByTestId('seed-rank')
        .filter({ hasText: /^2 of / })
        .waitFor();
      const secondSeed = await waitForLoadedImage(page.getByTestId('seed-image'));
      assert.notEqual(secondSeed, firstSeed, 'Next shows a different photo');
      await screenshot(page, '3-next-seed');

      await page.getByTestId('seed-cta').fill('Order today');
      await page.getByTestId('seed-accept').click();
      await page.getByTestId('ad-card').waitFor({ state: 'visible', timeout: AD_TIMEOUT_MS });
      const stored = (await (
        await fetch(new URL(`/v1/conversations/${conversationId}`, app.url), { signal: AbortSignal.timeout(STEP_TIMEOUT_MS) })
      ).json()) as { headline?: string; callToAction?: string };
      assert.deepEqual([stored.headline, stored.callToAction], [HEADLINE, 'Order today'], 'the text went with the accepting reply');
      await waitForLoadedImage(page.getByTestId('ad-image'));
      await screenshot(page, '4-ad');

      const download = page.getByTestId('ad-download');
      assert.notEqual(await download.getAttribute('download'), null, 'the link downloads instead of navigating');
      const href = await download.evaluate((element) => (element as HTMLAnchorElement).href);
      const response = await fetch(href, { signal: AbortSignal.timeout(STEP_TIMEOUT_MS) });
      assert.equal(response.status, 200, `GET ${href}`);
      const bytes = Buffer.from(await response.arrayBuffer());
      assert.ok(bytes.length > PNG_SIGNATURE.length, 'the ad has content');
      assert.deepEqual(bytes.subarray(0, PNG_SIGNATURE.length), PNG_SIGNATURE, 'the ad is a PNG');
      // The headline band darkens the photo, so pure white in the top rows can only be the headline's letters.
      const top = await sharp(bytes).extract({ left: 0, top: 0, width: 1080, height: 160 }).removeAlpha().raw().toBuffer();
      let white = 0;
      for (let i = 0; i < top.length; i += 3) if (top[i] >= 250 && top[i + 1] >= 250 && top[i + 2] >= 250) white++;
      assert.ok(white > 1000, `headline letters in the ad: ${white} white pixels in its top rows`);

      assert.deepEqual(problems, [], 'no console errors or uncaught exceptions');
    } catch (error) {
      await screenshot(page, 'failure-flow').catch(() => undefined);
      throw error;
    } finally {
      await page.close();
    }
  });

  it("shows the API's validation message when the segment is empty", async () => {
    const expected = await fetch(new URL('/v1/conversations', app.url), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ segment: '' }),
      signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
    });
    assert.equal(expected.status, 400, 'the API rejects an empty segment');
    const { error } = (await expected.json()) as { error: { message: string } };
    assert.ok(error.message.length > 0, 'the API explains the rejection');

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    const problems = watchForPageErrors(page);
    try {
      await page.goto(app.url);
      await page.getByTestId('segment-submit').click();
      const shown = page.getByTestId('chat-error');
      await shown.waitFor({ state: 'visible' });
      assert.ok((await shown.innerText()).includes(error.message), `UI shows "${error.message}"`);
      assert.equal(await page.getByTestId('subject-card').isVisible(), false, 'no conversation started');
      assert.equal(await page.getByTestId('segment-input').isEnabled(), true, 'the marketer can try again');
      await screenshot(page, '0-empty-segment');
      // The browser itself logs the 400 response; anything else is a defect of the page.
      const unexpected = problems.filter((p) => !/Failed to load resource: .*\b400\b/.test(p));
      assert.deepEqual(unexpected, [], 'no console errors besides the rejected request');
    } finally {
      await page.close();
    }
  });

  it('lists the photos the library is missing after a subject nothing clears the floor for', async () => {
    const api = (path: string, body: unknown) =>
      fetch(new URL(path, app.url), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
      });
    const { id } = (await (await api('/v1/conversations', { segment: 'snow lovers' })).json()) as { id: string };
    assert.equal((await api(`/v1/conversations/${id}/messages`, { text: 'show me a snowmobile' })).status, 200);

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    const problems = watchForPageErrors(page);
    try {
      await page.goto(app.url);
      await page.getByTestId('tab-gaps').click();
      const row = page.getByTestId('gap-row').filter({ hasText: 'snowmobile' });
      await row.waitFor({ state: 'visible' });
      assert.match(await row.innerText(), /snowmobile\s+subject\s+1\s+0\.\d\d/);
      await screenshot(page, '4-missing-photos');
      assert.deepEqual(problems, []);
    } finally {
      await page.close();
    }
  });

  it('fits a phone screen and labels every control', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    const problems = watchForPageErrors(page);
    try {
      await page.goto(app.url);
      for (const tab of ['tab-chat', 'tab-search', 'tab-upload']) {
        await page.getByTestId(tab).click();
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `${tab}: page is ${overflow}px wider than the phone`);
      }
      const unlabelled = await page.evaluate(() => {
        const names: string[] = [];
        for (const control of Array.from(document.querySelectorAll<HTMLInputElement | HTMLSelectElement>('input, select'))) {
          if (control.labels === null || control.labels.length === 0) names.push(control.outerHTML);
        }
        for (const button of Array.from(document.querySelectorAll('button, a[download]'))) {
          if (!button.getAttribute('aria-label') && !(button.textContent ?? '').trim()) names.push(button.outerHTML);
        }
        return names;
      });
      assert.deepEqual(unlabelled, [], 'every input, select and button has an accessible name');
      await page.getByTestId('tab-chat').click();
      await screenshot(page, '5-phone');
      assert.deepEqual(problems, [], 'no console errors or uncaught exceptions');
    } finally {
      await page.close();
    }
  });
});
