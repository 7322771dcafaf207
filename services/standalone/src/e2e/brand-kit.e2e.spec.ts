import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { startTestApp, type TestApp } from './harness';
import { library, upload } from './job-fixtures';

type Json = Record<string, any>;

/** Lobster (SIL OFL 1.1), shipped by the @fontsource/lobster npm package. */
const LOBSTER_WOFF2 = require.resolve('@fontsource/lobster/files/lobster-latin-400-normal.woff2');
const PRIMARY: [number, number, number] = [0x0a, 0x7d, 0x4f];
const COLOURS = { primary: '#0A7D4F', secondary: '#f2c14e', text: '#ffffff' };

async function waitForJob(app: TestApp, id: string): Promise<Json> {
  for (;;) {
    await app.whenIdle();
    const job = ((await (await app.api(`/v1/jobs/${id}`)).json()) as Json).job;
    if (['done', 'failed', 'cancelled'].includes(job.status)) return job;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function bytesOf(app: TestApp, url: string): Promise<Buffer> {
  const res = await app.api(url);
  assert.equal(res.status, 200, url);
  return Buffer.from(await res.arrayBuffer());
}

async function uploadFont(app: TestApp, bytes: Buffer, name: string, tenant?: string): Promise<Response> {
  const form = new FormData();
  form.set('file', new Blob([new Uint8Array(bytes)]), name);
  return app.api('/v1/brand-kit/font', { method: 'POST', body: form, ...(tenant ? { tenant } : {}) });
}

/** Pixels exactly of `rgb` (±2) in a rectangle of a PNG. */
async function colourPixels(png: Buffer, rect: { left: number; top: number; width: number; height: number }, rgb: [number, number, number]): Promise<number> {
  const data = await sharp(png).extract(rect).removeAlpha().raw().toBuffer();
  let n = 0;
  for (let i = 0; i < data.length; i += 3)
    if (Math.abs(data[i] - rgb[0]) <= 2 && Math.abs(data[i + 1] - rgb[1]) <= 2 && Math.abs(data[i + 2] - rgb[2]) <= 2) n++;
  return n;
}

/** The call to action sits in the bottom corner opposite the pack: the bottom fifth of that half. */
function ctaArea(ad: Json, provenance: Json): { left: number; top: number; width: number; height: number } {
  const pack = provenance.brand.placement;
  const packOnRight = pack.left + pack.width / 2 > ad.width / 2;
  const half = Math.floor(ad.width / 2);
  const height = Math.round(ad.height / 5);
  return { left: packOnRight ? 0 : ad.width - half, top: ad.height - height, width: half, height };
}

async function runJob(app: TestApp, body: Json): Promise<Json> {
  const res = await app.api('/v1/jobs', { method: 'POST', json: body });
  assert.equal(res.status, 202, await res.clone().text());
  const job = await waitForJob(app, ((await res.json()) as Json).job.id);
  assert.equal(job.status, 'done', JSON.stringify(job.failures));
  return job;
}

describe('brand kit, end to end through the REST API (embedded)', { timeout: 300_000 }, () => {
  let app: TestApp;
  let brandPath: string;
  let seedPaths: string[];
  let logoPath: string;
  let font: Json;
  let before1: Json;

  before(async () => {
    app = await startTestApp();
    ({ brandPath, seedPaths } = await library(app));
    const logo = await sharp(
      Buffer.from(
        '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="120"><rect width="300" height="120" fill="#fff"/><rect x="20" y="20" width="260" height="80" fill="#ff00ff"/></svg>',
      ),
    )
      .png()
      .toBuffer();
    logoPath = (await upload(app, logo, 'logo.png', { kind: 'brand' })).path;
    await app.whenIdle();
    // A job before any kit: the reference for "without the kit".
    before1 = await runJob(app, {
      brandPath,
      seedPaths: seedPaths.slice(0, 1),
      formats: ['1:1'],
      variants: 1,
      headline: 'Gear up for the weekend',
      callToAction: 'Shop now',
    });
  });
  after(async () => {
    await app?.whenIdle();
    await app?.stop();
  });

  it('has no kit until one is put: 404 no_brand_kit; a job made then records none', async () => {
    const res = await app.api('/v1/brand-kit');
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as Json).error.code, 'no_brand_kit');
    assert.equal(before1.brandKitVersion, undefined);
    const provenance = JSON.parse((await bytesOf(app, `/v1/assets/content?path=${encodeURIComponent(before1.ads[0].provenancePath)}`)).toString('utf8'));
    assert.equal(provenance.brandKit, undefined);
    const png = await bytesOf(app, before1.ads[0].url);
    assert.equal(await colourPixels(png, ctaArea(before1.ads[0], provenance), PRIMARY), 0);
  });

  it('takes a font only when it parses as one, under the size limit', async () => {
    const notFont = await uploadFont(app, Buffer.from('this is a text file renamed to .ttf, not a font'), 'fake.ttf');
    assert.equal(notFont.status, 415);
    assert.equal(((await notFont.json()) as Json).error.code, 'unsupported_font');
    const collection = Buffer.concat([Buffer.from('ttcf'), Buffer.alloc(64)]);
    assert.equal((await uploadFont(app, collection, 'family.ttc')).status, 415);
    const huge = await uploadFont(app, Buffer.concat([Buffer.from('wOF2'), Buffer.alloc(4 * 1024 * 1024)]), 'huge.woff2');
    assert.equal(huge.status, 413);
    assert.equal(((await huge.json()) as Json).error.code, 'font_too_large');

    const res = await uploadFont(app, await readFile(LOBSTER_WOFF2), 'lobster.woff2');
    assert.equal(res.status, 201, await res.clone().text());
    font = ((await res.json()) as Json).font;
    assert.equal(font.family, 'Lobster');
    assert.equal(font.format, 'woff2');
    assert.match(font.path, /^state\/brand-kits\/demo\/fonts\/[0-9a-f]{32}\.woff2$/);
  });

  it('validates a PUT: hex colours, a font this tenant uploaded, a brand image of this tenant as logo', async () => {
    const badColour = await app.api('/v1/brand-kit', { method: 'PUT', json: { colours: { ...COLOURS, primary: 'green' } } });
    assert.equal(badColour.status, 400);
    assert.ok(((await badColour.json()) as Json).error.issues.some((i: Json) => i.field === 'colours.primary'));
    const foreignFont = await app.api('/v1/brand-kit', { method: 'PUT', tenant: 'other', json: { colours: COLOURS, fontPath: font.path } });
    assert.equal(foreignFont.status, 404);
    const seedAsLogo = await app.api('/v1/brand-kit', { method: 'PUT', json: { colours: COLOURS, logoPath: seedPaths[0] } });
    assert.equal(seedAsLogo.status, 404);
    assert.equal((await app.api('/v1/brand-kit')).status, 404, 'nothing was stored');
  });

  it('versions the kit: each PUT is a new version, GET answers the latest', async () => {
    const first = await app.api('/v1/brand-kit', { method: 'PUT', json: { colours: { ...COLOURS, primary: '#123456' } } });
    assert.equal(first.status, 200, await first.clone().text());
    assert.equal(((await first.json()) as Json).brandKit.version, 1);
    const second = await app.api('/v1/brand-kit', { method: 'PUT', json: { colours: COLOURS, fontPath: font.path, logoPath } });
    const kit = ((await second.json()) as Json).brandKit;
    assert.equal(kit.version, 2);
    assert.equal(kit.colours.primary, '#0a7d4f', 'stored lower-case');
    assert.equal(kit.font.name, 'Lobster Regular');
    assert.equal(kit.logoPath, logoPath);
    assert.deepEqual(((await (await app.api('/v1/brand-kit')).json()) as Json).brandKit, kit);
    assert.equal((await app.api('/v1/brand-kit', { tenant: 'other' })).status, 404, 'per tenant');
  });

  it('makes job ads with the kit: the job and each provenance name the version, the button is the primary colour, the logo is placed', async () => {
    const job = await runJob(app, {
      brandPath,
      seedPaths: seedPaths.slice(0, 2),
      formats: ['1:1', '1.91:1'],
      variants: 1,
      headline: 'Gear up for the weekend',
      callToAction: 'Shop now',
    });
    assert.equal(job.brandKitVersion, 2);
    assert.equal(job.ads.length, 4);
    for (const ad of job.ads) {
      const provenance = JSON.parse((await bytesOf(app, `/v1/assets/content?path=${encodeURIComponent(ad.provenancePath)}`)).toString('utf8'));
      assert.equal(provenance.brandKit.version, 2);
      assert.equal(provenance.brandKit.font.name, 'Lobster Regular');
      assert.equal(provenance.brandKit.logoPath, logoPath);
      const png = await bytesOf(app, ad.url);
      const area = ctaArea(ad, provenance);
      const primary = await colourPixels(png, area, PRIMARY);
      assert.ok(primary > 2000, `${ad.format}: ${primary} primary-colour pixels in the call-to-action area`);
      const logo = provenance.brandKit.logoPlacement;
      const magenta = await colourPixels(png, logo, [255, 0, 255]);
      assert.ok(magenta > 0.8 * logo.width * logo.height, `${ad.format}: ${magenta} logo pixels in ${JSON.stringify(logo)}`);
    }
  });

  it('makes a single ad (POST /v1/ads) with the current kit and says which version', async () => {
    const res = await app.api('/v1/ads', { method: 'POST', json: { seedPath: seedPaths[0], brandPath, callToAction: 'Shop now' } });
    assert.equal(res.status, 201, await res.clone().text());
    const { ad } = (await res.json()) as Json;
    assert.equal(ad.brandKitVersion, 2);
    const [bucket, ...key] = ad.path.split('/');
    assert.equal((await app.store.stat(bucket, key.join('/')))?.metadata['brand-kit-version'], '2');
  });

  it('takes headline and call to action in a conversation, through the text guardrail, and a reply can change or clear them', async () => {
    const rejected = await app.api('/v1/conversations', {
      method: 'POST',
      json: { segment: 'outdoor adventurers', headline: 'Sh1t-hot deals', callToAction: 'Shop now' },
    });
    assert.equal(rejected.status, 422);
    const body = (await rejected.json()) as Json;
    assert.equal(body.error.code, 'moderation_rejected');
    assert.deepEqual(body.error.issues, [{ field: 'headline', reason: 'profanity' }]);

    const created = await app.api('/v1/conversations', {
      method: 'POST',
      json: { segment: 'outdoor adventurers', headline: 'Gear up', callToAction: 'Shop now' },
    });
    assert.equal(created.status, 201, await created.clone().text());
    const conversation = (await created.json()) as Json;
    assert.equal(conversation.headline, 'Gear up');
    assert.equal(conversation.callToAction, 'Shop now');

    const badReply = await app.api(`/v1/conversations/${conversation.id}/messages`, {
      method: 'POST',
      json: { text: 'different subject', callToAction: 'Buy this shit' },
    });
    assert.equal(badReply.status, 422);
    assert.deepEqual(((await badReply.json()) as Json).error.issues, [{ field: 'callToAction', reason: 'profanity' }]);

    const reply = await app.api(`/v1/conversations/${conversation.id}/messages`, {
      method: 'POST',
      json: { text: 'different subject', headline: 'Weekend ready', callToAction: '' },
    });
    assert.equal(reply.status, 200, await reply.clone().text());
    const changed = (await reply.json()) as Json;
    assert.equal(changed.headline, 'Weekend ready');
    assert.equal('callToAction' in changed, false, 'an empty call to action clears it');
  });
});
