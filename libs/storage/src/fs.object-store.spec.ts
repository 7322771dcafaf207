import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { FsObjectStore } from './fs.object-store';
import { describeObjectStoreContract } from './object-store.contract';
import { InvalidKeyError, ObjectNotFoundError } from './object-store.port';

describeObjectStoreContract('FsObjectStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'adseed-store-'));
  return { store: new FsObjectStore(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

it('FsObjectStore keeps its sidecar folder out of reach and refuses a missing bucket', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'adseed-store-'));
  try {
    const store = new FsObjectStore(dir);
    await store.ensureBucket('seeds');
    await assert.rejects(store.put('seeds', '.adseed-meta/x', Buffer.from('x'), { contentType: 'text/plain' }), InvalidKeyError);
    await assert.rejects(store.put('nobucket', 'x', Buffer.from('x'), { contentType: 'text/plain' }), ObjectNotFoundError);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
