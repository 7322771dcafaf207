import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launchChromium } from '@adseed/testing';
import type { Browser, ConsoleMessage, Page } from 'playwright-core';
import sharp from 'sharp';
import { startTestApp, type TestApp } from './harness';
import { library } from './job-fixtures';

/** Segments that clear the relevance floor against the fixture captions (the page has no minScore knob). */
const SEGMENTS = ['a mountain bike outdoors', 'a coffee mug at home'];

const STEP_TIMEOUT_MS = 120_000;

describe('web UI: the campaigns page in a real browser', { timeout: 600_000 }, () => {
  let app: TestApp;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  before(async () => {
    app = await startTestApp();
    await library(app);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
    page.on('console', (message: ConsoleMessage) => {
      if (message.type() === 'error') problems.push(`console.error: ${message.text()}`);
    });
  });
  after(async () => {
    await browser?.close();
    await app?.whenIdle();
    await app?.stop();
  });

  it('starts a campaign, shows its progress and a gallery of every ad, and lists it', async () => {
    await page.goto(app.url);
    await page.getByTestId('tab-jobs').click();
    await page.getByTestId('panel-jobs').waitFor({ state: 'visible' });
    await page.getByTestId('job-segments').fill(SEGMENTS.join('\n'));
    await page.locator('input[name="format"][value="9:16"]').check();
    await page.getByTestId('job-variants').selectOption('2');
    await page.getByTestId('job-cta').fill('Shop now');
    await page.waitForFunction(() => (document.querySelector('[data-testid="job-brand"]') as HTMLSelectElement).value.startsWith('brands/'), undefined, {
      timeout: STEP_TIMEOUT_MS,
    });
    await page.getByTestId('job-submit').click();
    await page.getByTestId('job-card').waitFor({ state: 'visible', timeout: STEP_TIMEOUT_MS });
    await page.waitForFunction(() => document.querySelector('[data-testid="job-status"]')?.textContent === 'Done', undefined, { timeout: STEP_TIMEOUT_MS });
    assert.equal(await page.getByTestId('job-progress-text').textContent(), '8 of 8 ads made');
    const ads = page.getByTestId('job-ad');
    assert.equal(await ads.count(), 8);
    // Every gallery image decoded, at its format's shape.
    await page.waitForFunction(
      () =>
        Array.from(document.querySelectorAll('[data-testid="job-ad"] img')).every(
          (i) => (i as HTMLImageElement).complete && (i as HTMLImageElement).naturalWidth > 0,
        ),
      undefined,
      { timeout: STEP_TIMEOUT_MS },
    );
    const sizes = await page.$$eval('[data-testid="job-ad"] img', (images) =>
      images.map((i) => `${(i as HTMLImageElement).naturalWidth}x${(i as HTMLImageElement).naturalHeight}`),
    );
    assert.deepEqual([...new Set(sizes)].sort(), ['1080x1080', '1080x1920']);
    const href = await ads.first().locator('a').first().getAttribute('href');
    const png = Buffer.from(await (await app.api(href!)).arrayBuffer());
    assert.equal((await sharp(png).metadata()).format, 'png');
    // The list reloads when the job ends; wait for that reload rather than reading the one made at submit.
    await page.waitForFunction(() => /Done 8\/8/.test(document.querySelector('[data-testid="job-list"]')?.textContent ?? ''), undefined, {
      timeout: STEP_TIMEOUT_MS,
    });
    await page.screenshot({ path: '/tmp/adseed-ui-campaign.png', fullPage: true });
    assert.deepEqual(problems, []);
  });
});
