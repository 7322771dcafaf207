import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BrandKitKeys, type BrandKit } from '@adseed/contracts';
import { FsObjectStore } from '@adseed/storage';
import { BrandKitNotFoundError, BrandKitReader } from './brand-kit.reader';

describe(BrandKitReader.name, () => {
  let dir: string;
  let store: FsObjectStore;
  const json = { contentType: 'application/json' };
  const kit = (tenant: string, version: number, extra: Partial<BrandKit> = {}): BrandKit => ({
    tenant,
    version,
    colours: { primary: '#112233', secondary: '#445566', text: '#ffffff' },
    updatedAt: '2026-12-01T00:00:00Z',
    ...extra,
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'adseed-brand-kit-reader-'));
    store = new FsObjectStore(dir);
    for (const bucket of ['state', 'brands']) await store.ensureBucket(bucket);
    await store.put('brands', 'acme/logo.png', Buffer.from('logo bytes'), { contentType: 'image/png' });
    await store.put('state', BrandKitKeys.font('acme', 'b'.repeat(64), 'ttf'), Buffer.from('font bytes'), { contentType: 'font/ttf' });
    const fontPath = `state/${BrandKitKeys.font('acme', 'b'.repeat(64), 'ttf')}`;
    const font = { path: fontPath, family: 'F', name: 'F Bold', format: 'ttf' as const, bytes: 10, sha256: 'b'.repeat(64) };
    await store.put('state', BrandKitKeys.version('acme', 1), Buffer.from(JSON.stringify(kit('acme', 1, { font, logoPath: 'brands/acme/logo.png' }))), json);
    const later = kit('acme', 2, { logoPath: 'brands/acme/gone.png', font: { ...font, path: 'state/brand-kits/other/fonts/x.ttf' } });
    await store.put('state', BrandKitKeys.version('acme', 2), Buffer.from(JSON.stringify(later)), json);
    await store.put('state', BrandKitKeys.current('acme'), Buffer.from(JSON.stringify(later)), json);
    await store.put('state', BrandKitKeys.current('intruder'), Buffer.from(JSON.stringify(kit('acme', 1))), json);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('reads a pinned version with its font and logo bytes', async () => {
    const loaded = await new BrandKitReader(store, 'state').load('acme', 1);
    assert.equal(loaded?.kit.version, 1);
    assert.equal(loaded?.request.font?.toString(), 'font bytes');
    assert.equal(loaded?.request.logo?.toString(), 'logo bytes');
    assert.deepEqual(loaded?.warnings, []);
  });

  it("reads the current version without one, and warns about a logo no longer stored and another tenant's font", async () => {
    const loaded = await new BrandKitReader(store, 'state').load('acme');
    assert.equal(loaded?.kit.version, 2);
    assert.equal(loaded?.request.logo, undefined);
    assert.equal(loaded?.request.font, undefined);
    assert.equal(loaded?.warnings.length, 2);
    assert.match(loaded?.warnings.join('\n') ?? '', /logo brands\/acme\/gone.png is no longer stored/);
    assert.match(loaded?.warnings.join('\n') ?? '', /font .* is not this tenant's/);
  });

  it('answers undefined for a tenant without a kit, refuses a missing pinned version and a record of another tenant', async () => {
    const reader = new BrandKitReader(store, 'state');
    assert.equal(await reader.load('nobody'), undefined);
    await assert.rejects(reader.load('acme', 5), BrandKitNotFoundError);
    await assert.rejects(reader.load('intruder'), /belongs to another tenant/);
  });
});
