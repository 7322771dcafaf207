import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FsObjectStore } from '@adseed/storage';
import { AuditLog } from './audit.log';
import { GatewayEnv } from './gateway.env';
import type { Principal } from './roles';

describe(AuditLog.name, () => {
  let dir: string;
  let store: FsObjectStore;
  let clock = new Date('2026-12-01T23:59:59.000Z');
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'adseed-audit-'));
    store = new FsObjectStore(dir);
  });
  after(() => rm(dir, { recursive: true, force: true }));
  const rita: Principal = { tenant: 'acme', role: 'reviewer', actor: 'rita' };

  it('appends one object per entry, never rewrites one, and pages oldest first across days', async () => {
    const log = new AuditLog(store, 'state', () => clock);
    await log.init();
    const written = [];
    for (let i = 0; i < 5; i++) {
      written.push(await log.record(rita, { action: 'review.decided', target: `ads/acme/${i}.png` }));
      clock = new Date(clock.getTime() + 400); // crosses midnight after the third
    }
    await log.record({ tenant: 'other', role: 'admin', actor: 'x' }, { action: 'asset.deleted' });
    const before = (await store.list('state', 'audit/', { limit: 100 })).items.map((i) => [i.key, i.etag]);
    await log.record(rita, { action: 'asset.uploaded' });
    const after = new Map((await store.list('state', 'audit/', { limit: 100 })).items.map((i) => [i.key, i.etag]));
    for (const [key, etag] of before) assert.equal(after.get(key), etag, `${key} unchanged`);
    assert.equal(after.size, before.length + 1);

    const pages = [];
    let cursor: string | undefined;
    do {
      const page = await log.list('acme', { limit: 2, ...(cursor ? { cursor } : {}) });
      pages.push(page.items.map((e) => e.action));
      cursor = page.nextCursor;
    } while (cursor);
    assert.deepEqual(pages.flat(), ['review.decided', 'review.decided', 'review.decided', 'review.decided', 'review.decided', 'asset.uploaded']);
    assert.deepEqual(
      (await log.list('acme', { limit: 10, day: '2026-12-02' })).items.map((e) => e.target ?? e.action),
      ['ads/acme/3.png', 'ads/acme/4.png', 'asset.uploaded'],
    );
    assert.deepEqual(
      written.map((e) => [e.actor, e.role, e.tenant]),
      Array(5).fill(['rita', 'reviewer', 'acme']),
    );
    // A cursor is a position in the tenant's own log (with or without `day`): another tenant's shows none of its entries.
    const afterFirstDay = (await log.list('acme', { limit: 3 })).nextCursor!;
    assert.deepEqual(
      (await log.list('acme', { limit: 10, day: '2026-12-02', cursor: afterFirstDay })).items.map((e) => e.target ?? e.action),
      ['ads/acme/3.png', 'ads/acme/4.png', 'asset.uploaded'],
    );
    const otherCursor = Buffer.from('9999-12-31/x').toString('base64url');
    assert.deepEqual((await log.list('acme', { limit: 10, cursor: otherCursor })).items, []);
    assert.deepEqual(
      (await log.list('acme', { limit: 2, cursor: Buffer.from('2026-12-02/').toString('base64url') })).items.map((e) => e.tenant),
      ['acme', 'acme'],
    );
  });

  it('reports the first use of a key in each clock hour only', () => {
    let now = new Date('2026-12-01T10:00:00Z');
    const log = new AuditLog(store, 'state', () => now);
    assert.equal(log.firstUseThisHour(rita), true);
    assert.equal(log.firstUseThisHour(rita), false);
    assert.equal(log.firstUseThisHour({ ...rita, actor: 'mara' }), true);
    now = new Date('2026-12-01T10:59:59Z');
    assert.equal(log.firstUseThisHour(rita), false);
    now = new Date('2026-12-01T11:00:00Z');
    assert.equal(log.firstUseThisHour(rita), true);
  });
});

describe('ADSEED_API_KEYS', () => {
  const parse = (raw: string) => GatewayEnv.safeParse({ ADSEED_API_KEYS: raw });

  it('reads key:tenant[:role[:name]]; no role is a marketer; the default name never shows the key', () => {
    const result = parse('k1:acme,k2:acme:reviewer:rita,k3:beta:admin');
    assert.ok(result.success);
    const keys = result.data.ADSEED_API_KEYS;
    assert.deepEqual(keys.get('k2'), { tenant: 'acme', role: 'reviewer', name: 'rita' });
    assert.equal(keys.get('k1')!.role, 'marketer');
    assert.equal(keys.get('k3')!.role, 'admin');
    assert.match(keys.get('k1')!.name, /^key-[0-9a-f]{8}$/);
    assert.ok(!keys.get('k1')!.name.includes('k1'));
  });

  it('refuses an unknown role, a bad tenant or a bad name', () => {
    for (const raw of ['k:acme:owner', 'k:Acme', 'k:acme:admin:has space', 'k']) assert.equal(parse(raw).success, false, raw);
  });

  it('reads the review policy per tenant and refuses anything else', () => {
    const ok = GatewayEnv.safeParse({ ADSEED_REVIEW_POLICY: '{"acme":"always-review","*":"auto-approve"}' });
    assert.ok(ok.success);
    assert.deepEqual(ok.data.ADSEED_REVIEW_POLICY, { acme: 'always-review', '*': 'auto-approve' });
    assert.equal(GatewayEnv.safeParse({ ADSEED_REVIEW_POLICY: '{"acme":"sometimes"}' }).success, false);
    assert.equal(GatewayEnv.safeParse({ ADSEED_REVIEW_POLICY: 'nope' }).success, false);
  });
});
