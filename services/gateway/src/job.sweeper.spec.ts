import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { JobAdKeys, JobStateKeys } from '@adseed/contracts';
import { FsObjectStore } from '@adseed/storage';
import { JobSweeper } from './job.sweeper';
import { JobsRepository, type StoredJob } from './jobs.repository';

const MINUTE = 60_000;

describe(JobSweeper.name, () => {
  let dir: string;
  let store: FsObjectStore;
  let repository: JobsRepository;
  let now: Date;

  const job = (id: string, expiresAt: Date): StoredJob => ({
    id,
    tenant: 'acme',
    request: { brandPath: 'brands/acme/p.png', seedPaths: ['seeds/acme/s.jpg'], formats: ['1:1'], variants: 1 },
    requestHash: 'h',
    ads: [],
    createdAt: new Date(expiresAt.getTime() - 10 * MINUTE).toISOString(),
    expiresAt: expiresAt.toISOString(),
  });
  const png = Buffer.from('not really a png');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'adseed-sweeper-'));
    store = new FsObjectStore(join(dir, 'objects'));
    repository = new JobsRepository(store, 'state');
    await repository.init();
    await store.ensureBucket('ads');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('removes expired jobs with their ads and outcomes, old ads and tombstones, and keeps the rest', async () => {
    const wall = Date.now();
    const expired = job('j0000000001-aaaaaaaa', new Date(wall + 5 * MINUTE));
    const live = job('j0000000002-bbbbbbbb', new Date(wall + 60 * MINUTE));
    for (const j of [expired, live]) {
      await repository.save(j);
      await store.put('ads', JobAdKeys.image('acme', j.id, 0, '1:1', 1), png, { contentType: 'image/png' });
      await repository.saveOutcome({
        kind: 'failed',
        event: { jobId: j.id, tenant: 'acme', index: 0, format: '1:1', variant: 1, code: 'x', reason: 'y', failedAt: new Date().toISOString() },
      });
    }
    await store.put('ads', 'acme/2026-11-01/conversation-ad.png', png, { contentType: 'image/png' });
    await repository.markCancelled('acme', 'j0000000003-cccccccc', new Date());
    const remove = async (j: StoredJob) => {
      const page = await store.list('ads', JobAdKeys.prefix(j.tenant, j.id));
      for (const item of page.items) await store.delete('ads', item.key);
      await repository.remove(j);
    };
    // Retention 30 minutes; the clock is injected, the objects were written "now".
    const sweeper = new JobSweeper(repository, store, { adBucket: 'ads', retentionMs: 30 * MINUTE, now: () => now, removeJob: remove });

    now = new Date(wall + MINUTE);
    assert.deepEqual(await sweeper.sweep(), { jobs: 0, ads: 0, stateObjects: 0 }, 'nothing has expired yet');

    now = new Date(wall + 10 * MINUTE);
    assert.deepEqual(await sweeper.sweep(), { jobs: 1, ads: 0, stateObjects: 0 });
    assert.equal(await repository.get('acme', expired.id), undefined);
    assert.equal((await repository.outcomes('acme', expired.id)).outcomes.size, 0);
    assert.equal(await store.stat('ads', JobAdKeys.image('acme', expired.id, 0, '1:1', 1)), undefined);
    assert.ok(await repository.get('acme', live.id), 'the live job stays');
    assert.ok(await store.stat('ads', JobAdKeys.image('acme', live.id, 0, '1:1', 1)));
    assert.ok(await store.stat('ads', 'acme/2026-11-01/conversation-ad.png'), 'an ad younger than the retention stays');

    now = new Date(wall + 31 * MINUTE);
    const late = await sweeper.sweep();
    assert.equal(late.jobs, 0);
    assert.equal(late.ads, 2, "the live job's ad and the conversation ad are older than the retention now");
    assert.equal(late.stateObjects, 1, 'the tombstone');
    assert.equal(await store.stat('state', JobStateKeys.cancel('acme', 'j0000000003-cccccccc')), undefined);

    now = new Date(wall + 61 * MINUTE);
    assert.equal((await sweeper.sweep()).jobs, 1);
    assert.deepEqual((await store.list('state', 'jobs/')).items, []);
  });
});
