import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FsObjectStore } from './fs.object-store';
import { InvalidKeyError, ObjectNotFoundError } from './object-store.port';

async function withStore(fn: (store: FsObjectStore) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'adseed-store-'));
  try {
    const store = new FsObjectStore(dir);
    await store.ensureBucket('seeds');
    await fn(store);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe(FsObjectStore.name, () => {
  it('stores bytes with content type and user metadata, and lists by prefix in pages', () =>
    withStore(async (store) => {
      const info = await store.put('seeds', 'demo/a/one.jpg', Buffer.from('one'), { contentType: 'image/jpeg', metadata: { Caption: 'a cat' } });
      assert.equal(info.size, 3);
      assert.equal(info.metadata.caption, 'a cat');
      await store.put('seeds', 'demo/b/two.jpg', Buffer.from('two'), { contentType: 'image/jpeg' });
      await store.put('seeds', 'other/three.jpg', Buffer.from('three'), { contentType: 'image/jpeg' });
      const got = await store.get('seeds', 'demo/a/one.jpg');
      assert.equal(got.body.toString(), 'one');
      assert.equal(got.info.contentType, 'image/jpeg');
      const first = await store.list('seeds', 'demo/', { limit: 1 });
      assert.deepEqual(first.items.map((i) => i.key), ['demo/a/one.jpg']);
      const second = await store.list('seeds', 'demo/', { limit: 1, startAfter: first.nextStartAfter });
      assert.deepEqual(second.items.map((i) => i.key), ['demo/b/two.jpg']);
      assert.equal(second.nextStartAfter, undefined);
    }));

  it('replaces an object atomically and changes its etag', () =>
    withStore(async (store) => {
      const a = await store.put('seeds', 'k.png', Buffer.from('a'), { contentType: 'image/png' });
      const b = await store.put('seeds', 'k.png', Buffer.from('b'), { contentType: 'image/png' });
      assert.notEqual(a.etag, b.etag);
      assert.equal((await store.list('seeds', '')).items.length, 1);
    }));

  it('rejects keys that could escape the bucket and names the reason', () =>
    withStore(async (store) => {
      for (const key of ['../x', 'a/../../x', '/etc/passwd', 'a//b', 'a\\b', 'a/./b', '', '.adseed-meta/x']) {
        await assert.rejects(store.put('seeds', key, Buffer.from('x'), { contentType: 'text/plain' }), InvalidKeyError, key);
      }
      await assert.rejects(store.get('seeds', 'missing.jpg'), ObjectNotFoundError);
      assert.equal(await store.stat('seeds', 'missing.jpg'), undefined);
      await assert.rejects(store.put('nobucket', 'x', Buffer.from('x'), { contentType: 'text/plain' }), ObjectNotFoundError);
    }));
});
