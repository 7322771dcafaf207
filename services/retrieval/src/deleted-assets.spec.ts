import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DELETION_TOMBSTONE_TTL_MS } from '@adseed/contracts';
import { DeletedAssets } from './deleted-assets';

const T0 = Date.parse('2026-12-03T10:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();

describe('DeletedAssets', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'adseed-deleted-assets-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('holds back an ingest of the same tenant’s asset requested before the deletion, only that', async () => {
    const deleted = await DeletedAssets.open(join(dir, 'a', 'tombstones.jsonl'), () => new Date(T0 + 60_000));
    await deleted.record({ assetId: 'a1', tenant: 'acme', deletedAt: at(0) });
    assert.ok(deleted.deletedSince('a1', 'acme', at(-1)), 'requested before');
    assert.ok(deleted.deletedSince('a1', 'acme', at(0)), 'requested at the same instant');
    assert.equal(deleted.deletedSince('a1', 'acme', at(1)), undefined, 'requested after: a new upload');
    assert.equal(deleted.deletedSince('a1', 'other', at(-1)), undefined, 'another tenant’s tombstone is not this one’s');
    assert.equal(deleted.deletedSince('a2', 'acme', at(-1)), undefined, 'never deleted');
    await deleted.close();
  });

  it('keeps the later of two deletions of one asset, whatever order they are recorded in', async () => {
    const deleted = await DeletedAssets.open(join(dir, 'b', 'tombstones.jsonl'), () => new Date(T0));
    await deleted.record({ assetId: 'a1', tenant: 'acme', deletedAt: at(5_000) });
    await deleted.record({ assetId: 'a1', tenant: 'acme', deletedAt: at(1_000) });
    assert.ok(deleted.deletedSince('a1', 'acme', at(4_000)), 'the later deletion still counts');
    await deleted.close();
  });

  it('remembers deletions across a reopen, skips a line cut short by a crash, and compacts the file', async () => {
    const file = join(dir, 'c', 'tombstones.jsonl');
    const now = () => new Date(T0);
    const first = await DeletedAssets.open(file, now);
    await first.record({ assetId: 'a1', tenant: 'acme', deletedAt: at(0) });
    await first.record({ assetId: 'a1', tenant: 'acme', deletedAt: at(10) });
    await first.record({ assetId: 'a2', tenant: 'acme', deletedAt: at(0) });
    await first.close();
    await appendFile(file, '\n{"assetId":"a3","ten'); // an append cut short
    const second = await DeletedAssets.open(file, now);
    assert.equal(second.size, 2);
    assert.ok(second.deletedSince('a1', 'acme', at(5)), 'the later deletion of a1 survived');
    assert.ok(second.deletedSince('a2', 'acme', at(-1)));
    const lines = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
    assert.equal(lines.length, 2, 'one line per asset after the reopen, the cut line gone');
    await appendFile(file, '{"assetId":"a5","ten'); // cut short again, with no line end
    await second.record({ assetId: 'a4', tenant: 'acme', deletedAt: at(0) });
    await second.close();
    const third = await DeletedAssets.open(file, now);
    assert.ok(third.deletedSince('a4', 'acme', at(-1)), 'an append after a line cut short starts a line of its own');
    assert.equal(third.size, 3);
    await third.close();
  });

  it('forgets a deletion older than the tombstone time-to-live, in memory and on reopen', async () => {
    const file = join(dir, 'd', 'tombstones.jsonl');
    let now = T0;
    const deleted = await DeletedAssets.open(file, () => new Date(now));
    await deleted.record({ assetId: 'a1', tenant: 'acme', deletedAt: at(0) });
    now = T0 + DELETION_TOMBSTONE_TTL_MS - 1;
    assert.ok(deleted.deletedSince('a1', 'acme', at(-1)), 'still in force just before it expires');
    now = T0 + DELETION_TOMBSTONE_TTL_MS + 1;
    assert.equal(deleted.deletedSince('a1', 'acme', at(-1)), undefined);
    await deleted.close();
    const reopened = await DeletedAssets.open(file, () => new Date(now));
    assert.equal(reopened.size, 0);
    await reopened.close();
  });

  it('counts the time-to-live from when the deletion was recorded, not from when it happened (a consumer a day behind)', async () => {
    const file = join(dir, 'f', 'tombstones.jsonl');
    const now = T0 + 2 * DELETION_TOMBSTONE_TTL_MS;
    const deleted = await DeletedAssets.open(file, () => new Date(now));
    await deleted.record({ assetId: 'a1', tenant: 'acme', deletedAt: at(0) });
    assert.ok(deleted.deletedSince('a1', 'acme', at(-1)));
    await deleted.close();
    await appendFile(file, '\n{"assetId":"a2","tenant":"acme","deletedAt":"2026-12-03T10:00:00.000Z","recordedAt":"not a time"}\n');
    const reopened = await DeletedAssets.open(file, () => new Date(now));
    assert.ok(reopened.deletedSince('a1', 'acme', at(-1)), 'still in force after a reopen');
    assert.equal(reopened.deletedSince('a2', 'acme', at(-1)), undefined, 'a time that does not parse counts as expired');
    await reopened.close();
  });

  it('compacts the file while it runs: a redelivered deletion does not grow it without end', async () => {
    const file = join(dir, 'g', 'tombstones.jsonl');
    const deleted = await DeletedAssets.open(file);
    for (let i = 0; i < 5_000; i++) await deleted.record({ assetId: `a${i % 10}`, tenant: 'acme', deletedAt: at(i) });
    const lines = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
    assert.ok(lines.length < 5_000 - 4_000 + 10, `${lines.length} lines for 10 assets`);
    assert.ok(deleted.deletedSince('a9', 'acme', at(4_999)), 'the latest deletion of each is kept');
    await deleted.close();
    const reopened = await DeletedAssets.open(file);
    assert.equal(reopened.size, 10);
    assert.ok(reopened.deletedSince('a9', 'acme', at(4_999)));
    await reopened.close();
  });

  it('runs the work of one asset in call order, other assets side by side', async () => {
    const deleted = await DeletedAssets.open(join(dir, 'e', 'tombstones.jsonl'));
    const log: string[] = [];
    const step = (name: string, ms: number) => async () => {
      log.push(`${name} start`);
      await new Promise((resolve) => setTimeout(resolve, ms));
      log.push(`${name} end`);
      if (name === 'a1 first') throw new Error('a failing turn does not block the next');
      return name;
    };
    const results = await Promise.allSettled([
      deleted.inTurn('a1', step('a1 first', 30)),
      deleted.inTurn('a1', step('a1 second', 1)),
      deleted.inTurn('a2', step('a2', 1)),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'fulfilled', 'fulfilled'],
    );
    assert.ok(log.indexOf('a1 second start') > log.indexOf('a1 first end'), log.join(', '));
    assert.ok(log.indexOf('a2 end') < log.indexOf('a1 first end'), `a2 did not wait for a1: ${log.join(', ')}`);
    await deleted.close();
  });
});
