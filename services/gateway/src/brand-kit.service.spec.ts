import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CommonEnv, loadConfig } from '@adseed/config';
import { BrandKit, BrandKitKeys, PutBrandKitBody } from '@adseed/contracts';
import { InProcessBroker } from '@adseed/messaging';
import { createRuntime, type ServiceRuntime } from '@adseed/platform';
import { FsObjectStore } from '@adseed/storage';
import { AssetsService } from './assets.service';
import { BrandKitRepository } from './brand-kit.repository';
import { BrandKitService } from './brand-kit.service';
import { inspectFont } from './font-file.inspector';
import { GatewayEnv } from './gateway.env';
import { ApiError } from './http-errors';

const LOBSTER_WOFF2 = require.resolve('@fontsource/lobster/files/lobster-latin-400-normal.woff2');
const LOBSTER_WOFF = require.resolve('@fontsource/lobster/files/lobster-latin-400-normal.woff');
/** The generation service's bundled TTF, read here as a test file only. */
const DEJAVU_TTF = join(__dirname, '..', '..', 'generation', 'assets', 'fonts', 'DejaVuSans-Bold.ttf');

const status = (code: number, apiCode?: string) => (error: unknown) =>
  error instanceof ApiError && error.status === code && (apiCode === undefined || error.code === apiCode);

describe('PutBrandKitBody', () => {
  it('accepts #rrggbb in either case and stores it lower-case; refuses names, short forms and alpha', () => {
    const ok = PutBrandKitBody.parse({ colours: { primary: '#0A7D4F', secondary: ' #ffffff ', text: '#000000' } });
    assert.deepEqual(ok.colours, { primary: '#0a7d4f', secondary: '#ffffff', text: '#000000' });
    for (const bad of ['green', '#fff', '#0a7d4f80', '0a7d4f', '#0a7d4g']) {
      const result = PutBrandKitBody.safeParse({ colours: { primary: bad, secondary: '#ffffff', text: '#000000' } });
      assert.equal(result.success, false, bad);
      assert.deepEqual(result.error?.issues[0].path, ['colours', 'primary']);
    }
  });
});

describe(inspectFont.name, () => {
  it('reads TTF, WOFF and WOFF2 by their content and reports family, name and hash', async () => {
    const ttf = inspectFont(await readFile(DEJAVU_TTF), 4 << 20);
    assert.deepEqual([ttf.format, ttf.family, ttf.name], ['ttf', 'DejaVu Sans', 'DejaVu Sans Bold']);
    assert.match(ttf.sha256, /^[0-9a-f]{64}$/);
    assert.deepEqual(
      [inspectFont(await readFile(LOBSTER_WOFF2), 4 << 20).format, inspectFont(await readFile(LOBSTER_WOFF), 4 << 20).format],
      ['woff2', 'woff'],
    );
  });

  it('refuses what is not one renderable font: other bytes, a collection, a damaged file, a file over the limit', async () => {
    const woff2 = await readFile(LOBSTER_WOFF2);
    assert.throws(() => inspectFont(Buffer.from('GIF89a and then some more bytes'), 1 << 20), status(415, 'unsupported_font'));
    assert.throws(() => inspectFont(Buffer.concat([Buffer.from('ttcf'), Buffer.alloc(60)]), 1 << 20), status(415, 'unsupported_font'));
    assert.throws(() => inspectFont(woff2.subarray(0, Math.floor(woff2.length / 2)), 1 << 20), status(415, 'unsupported_font'));
    assert.throws(() => inspectFont(woff2, woff2.length - 1), status(413, 'font_too_large'));
  });
});

describe(BrandKitService.name, () => {
  let dir: string;
  let runtime: ServiceRuntime;
  let store: FsObjectStore;
  let service: BrandKitService;
  const principal = { tenant: 'acme', role: 'marketer' as const, actor: 'anna' };
  const colours = { primary: '#0a7d4f', secondary: '#f2c14e', text: '#ffffff' };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'adseed-brand-kit-'));
    store = new FsObjectStore(join(dir, 'objects'));
    runtime = await createRuntime('gateway', loadConfig(CommonEnv, { ADSEED_DATA_DIR: dir, LOG_LEVEL: 'error' }), {
      shared: { broker: new InProcessBroker(), store },
      sink: () => undefined,
    });
    for (const bucket of ['state', 'brands', 'seeds']) await store.ensureBucket(bucket);
    await store.put('brands', 'acme/h/logo.png', Buffer.from('png'), { contentType: 'image/png' });
    await store.put('seeds', 'acme/h/dog.jpg', Buffer.from('jpg'), { contentType: 'image/jpeg' });
    service = new BrandKitService(
      new BrandKitRepository(store, 'state'),
      new AssetsService(runtime.store, runtime.bus, runtime.queries, runtime.buckets, runtime.logger, loadConfig(GatewayEnv, {})),
    );
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('stores an uploaded font by content hash with what the PUT needs, once for the same file', async () => {
    const bytes = await readFile(LOBSTER_WOFF2);
    const { font } = await service.uploadFont('acme', { buffer: bytes });
    const again = await service.uploadFont('acme', { buffer: bytes });
    assert.deepEqual(again.font, font);
    assert.equal(font.path, `state/${BrandKitKeys.font('acme', font.sha256, 'woff2')}`);
    assert.equal((await store.list('state', BrandKitKeys.fontPrefix('acme'), { limit: 10 })).items.length, 1);
    await assert.rejects(service.uploadFont('acme', undefined), status(400));
  });

  it('writes version after version, each kept, the current one readable; a job reads the current number', async () => {
    assert.equal(await service.currentVersion('acme'), undefined);
    await assert.rejects(service.get('acme'), status(404, 'no_brand_kit'));
    const { font } = await service.uploadFont('acme', { buffer: await readFile(LOBSTER_WOFF2) });
    const first = (await service.put(principal, { colours })).brandKit;
    const [second, third] = await Promise.all([
      service.put(principal, { colours, fontPath: font.path, logoPath: 'brands/acme/h/logo.png' }),
      service.put(principal, { colours: { ...colours, primary: '#000000' } }),
    ]);
    assert.deepEqual([first.version, second.brandKit.version, third.brandKit.version].sort(), [1, 2, 3], 'concurrent PUTs get distinct versions');
    assert.deepEqual(second.brandKit.font, font);
    assert.equal(second.brandKit.updatedBy, 'anna');
    assert.equal(await service.currentVersion('acme'), 3);
    assert.equal((await service.get('acme')).brandKit.version, 3);
    for (const v of [1, 2, 3]) {
      const stored = BrandKit.parse(JSON.parse((await store.get('state', BrandKitKeys.version('acme', v))).body.toString('utf8')));
      assert.equal(stored.version, v);
    }
  });

  it("refuses another tenant's font, a path that is no uploaded font, and a logo that is not a brand image of the tenant", async () => {
    const { font } = await service.uploadFont('acme', { buffer: await readFile(LOBSTER_WOFF2) });
    const before = await service.currentVersion('acme');
    await assert.rejects(service.put({ ...principal, tenant: 'other' }, { colours, fontPath: font.path }), status(404));
    await assert.rejects(service.put(principal, { colours, fontPath: 'brands/acme/h/logo.png' }), status(404));
    await assert.rejects(service.put(principal, { colours, fontPath: 'state/brand-kits/acme/fonts/none.ttf' }), status(404));
    await assert.rejects(service.put(principal, { colours, logoPath: 'seeds/acme/h/dog.jpg' }), status(404));
    await assert.rejects(service.put({ ...principal, tenant: 'other' }, { colours, logoPath: 'brands/acme/h/logo.png' }), status(404));
    assert.equal(await service.currentVersion('acme'), before, 'no version written');
  });
});
