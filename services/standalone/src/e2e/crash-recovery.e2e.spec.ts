import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FsObjectStore } from '@adseed/storage';
import sharp from 'sharp';
import { startTestApp, type TestApp } from './harness';

type Json = Record<string, any>;

const TENANT = 'crash';
const PHOTOS = 8;

describe('one-process mode: kill -9 during an ingest loses nothing', () => {
  let dataDir: string | undefined;
  let app: TestApp | undefined;
  after(async () => {
    await app?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('uploads stored and queued before a SIGKILL are indexed after the restart, from the journal', { timeout: 180_000 }, async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'adseed-crash-'));
    const child = fork(join(__dirname, 'crash.child.js'), [dataDir], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    const url = await new Promise<string>((resolve, reject) => {
      child.on('message', (m: { url?: string }) => m.url && resolve(m.url));
      child.on('exit', (code) => reject(new Error(`the product exited (${code}) before it was up`)));
    });

    const uploads = await Promise.all(
      Array.from({ length: PHOTOS }, async (_, i) => {
        const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 30 * i, g: 100, b: 200 - 20 * i } } })
          .jpeg()
          .toBuffer();
        const form = new FormData();
        form.set('file', new Blob([new Uint8Array(jpeg)]), `photo-${i}.jpg`);
        form.set('caption', `photo number ${i} of a dog by the sea`);
        return fetch(`${url}/v1/assets`, { method: 'POST', body: form, headers: { 'x-tenant-id': TENANT } });
      }),
    );
    assert.deepEqual(
      uploads.map((r) => r.status),
      Array(PHOTOS).fill(201),
    );
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    const stored = await new FsObjectStore(join(dataDir, 'objects')).list('seeds', `${TENANT}/`);
    assert.equal(stored.items.length, PHOTOS, 'every upload was stored before the kill');

    const logs: string[] = [];
    app = await startTestApp({ dataDir, logSink: (line) => logs.push(line) });
    const journalOpen = logs.map((l) => JSON.parse(l) as Json).find((l) => l.msg === 'event journal open');
    assert.ok(journalOpen && journalOpen.undelivered >= PHOTOS, `the journal held the ${PHOTOS} ingest events: ${JSON.stringify(journalOpen)}`);
    assert.equal(await app.requeued, 0, 'the journal delivered them: nothing was left for the start-up repair');
    await app.whenIdle();
    const res = await app.api('/v1/search', { method: 'POST', json: { text: 'a dog by the sea', k: 20, encoders: ['caption'] }, tenant: TENANT });
    const hits = ((await res.json()) as Json).hits as Json[];
    assert.equal(hits.length, PHOTOS);
    assert.deepEqual(new Set(hits.map((h) => h.path)), new Set(stored.items.map((i) => `seeds/${i.key}`)));
  });
});
