import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FsObjectStore } from '@adseed/storage';
import sharp from 'sharp';
import { startTestApp, type TestApp } from './harness';

type Json = Record<string, any>;

const TENANT = 'recovery';

describe('one-process start-up repairs what a crash left behind', () => {
  let dataDir: string;
  let app: TestApp | undefined;
  const logs: string[] = [];
  const start = async () => {
    logs.length = 0;
    app = await startTestApp({ dataDir, logSink: (line) => logs.push(line) });
    return app;
  };

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'adseed-recovery-'));
    // What a kill -9 between "stored" and "indexed" leaves (before the bus had a journal):
    // objects in the buckets, with their caption and tags, and no index entry, no event.
    const store = new FsObjectStore(join(dataDir, 'objects'));
    await store.ensureBucket('seeds');
    await store.ensureBucket('brands');
    const jpeg = await sharp({ create: { width: 96, height: 64, channels: 3, background: { r: 200, g: 30, b: 30 } } })
      .jpeg()
      .toBuffer();
    await store.put('seeds', `${TENANT}/0a1b2c/red-ball.jpg`, jpeg, {
      contentType: 'image/jpeg',
      metadata: { tenant: TENANT, kind: 'seed', caption: 'a red ball lying on the grass', tags: 'toy,outdoor' },
    });
    const png = await sharp({ create: { width: 64, height: 64, channels: 4, background: { r: 0, g: 0, b: 255, alpha: 1 } } })
      .png()
      .toBuffer();
    await store.put('brands', `${TENANT}/pack.png`, png, { contentType: 'image/png', metadata: { tenant: TENANT, kind: 'brand', caption: 'a blue pack' } });
  });
  after(async () => {
    await app?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('re-queues stored-but-unindexed assets on start, counts them in the log, and they get indexed', async () => {
    const running = await start();
    assert.equal(await running.requeued, 2);
    // The demo brand pack is stored after the re-queue: wait for it too, or a fast ingest of the
    // two leaves the bus idle before it is published and the second start re-queues it.
    await running.demoLibrary;
    await running.whenIdle();
    assert.ok(
      logs.some((l) => l.includes('re-queued 2 stored-but-unindexed assets')),
      logs.join('\n'),
    );

    const res = await running.api('/v1/search', { method: 'POST', json: { text: 'a red ball', encoders: ['caption'] }, tenant: TENANT });
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as Json;
    assert.equal(body.hits[0].path, `seeds/${TENANT}/0a1b2c/red-ball.jpg`);
    assert.equal(body.hits[0].caption, 'a red ball lying on the grass');
    assert.deepEqual(body.hits[0].tags, ['toy', 'outdoor']);
    const brands = (await (
      await running.api('/v1/search', { method: 'POST', json: { text: 'a blue pack', kind: 'brand', encoders: ['caption'] }, tenant: TENANT })
    ).json()) as Json;
    assert.equal(brands.hits[0].path, `brands/${TENANT}/pack.png`);
    await running.close();
    app = undefined;
  });

  it('a second start finds everything indexed and re-queues nothing', async () => {
    const startedAt = Date.now();
    const running = await start();
    assert.equal(await running.requeued, 0);
    assert.ok(logs.some((l) => l.includes('re-queued 0 stored-but-unindexed assets')));
    await running.whenIdle();
    const ingest = running.broker.read('adseed.asset.ingest-requested.v1');
    assert.deepEqual(
      ingest.filter((m) => m.timestamp >= startedAt),
      [],
      "no ingest event this time (the journal still holds the first run's)",
    );
    assert.equal(running.broker.lag('adseed.asset.ingest-requested.v1', 'embedding'), 0);
  });
});
