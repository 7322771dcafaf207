import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { InvalidKeyError, ObjectNotFoundError, type ObjectStore } from './object-store.port';

/**
 * What every object-store adapter promises (MinIO's model), run against the filesystem store and
 * against a real MinIO server. Each run works in its own fresh bucket.
 */
export function describeObjectStoreContract(name: string, factory: () => Promise<{ store: ObjectStore; cleanup(bucket: string): Promise<void> }>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let store: ObjectStore;
    let cleanup: (bucket: string) => Promise<void>;
    const bucket = `contract-${randomBytes(4).toString('hex')}`;

    before(async () => {
      ({ store, cleanup } = await factory());
      await store.ensureBucket(bucket);
      await store.ensureBucket(bucket); // idempotent
    });
    after(async () => {
      await cleanup?.(bucket);
      await store?.close();
    });

    it('stores bytes with content type and user metadata, and lists by prefix in pages', async () => {
      const info = await store.put(bucket, 'demo/a/one.jpg', Buffer.from('one'), {
        contentType: 'image/jpeg',
        metadata: { Caption: 'a cat, on a mat', tags: 'cat,indoor' },
      });
      assert.equal(info.size, 3);
      assert.equal(info.metadata.caption, 'a cat, on a mat');
      await store.put(bucket, 'demo/b/two.jpg', Buffer.from('two'), { contentType: 'image/jpeg' });
      await store.put(bucket, 'other/three.jpg', Buffer.from('three'), { contentType: 'image/jpeg' });
      const got = await store.get(bucket, 'demo/a/one.jpg');
      assert.equal(got.body.toString(), 'one');
      assert.equal(got.info.contentType, 'image/jpeg');
      assert.equal(got.info.metadata.tags, 'cat,indoor');
      assert.deepEqual(got.info, await store.stat(bucket, 'demo/a/one.jpg'), 'get describes the object as stat does');
      const unicode = { caption: 'crème brûlée — 100% "ours"', 'rights-licence': 'CC BY-SA 4.0' };
      await store.put(bucket, 'meta/ü.jpg', Buffer.from('four'), { contentType: 'image/webp', metadata: unicode });
      const fourth = await store.get(bucket, 'meta/ü.jpg');
      assert.deepEqual(fourth.info, await store.stat(bucket, 'meta/ü.jpg'));
      assert.deepEqual(fourth.info.metadata, unicode);
      assert.equal(fourth.info.size, 4);
      const first = await store.list(bucket, 'demo/', { limit: 1 });
      assert.deepEqual(
        first.items.map((i) => i.key),
        ['demo/a/one.jpg'],
      );
      const second = await store.list(bucket, 'demo/', { limit: 1, startAfter: first.nextStartAfter });
      assert.deepEqual(
        second.items.map((i) => i.key),
        ['demo/b/two.jpg'],
      );
      assert.equal(second.nextStartAfter, undefined);
    });

    it('replaces an object and changes its etag; deletes it', async () => {
      const a = await store.put(bucket, 'k.png', Buffer.from('a'), { contentType: 'image/png' });
      const b = await store.put(bucket, 'k.png', Buffer.from('b'), { contentType: 'image/png' });
      assert.notEqual(a.etag, b.etag);
      assert.equal((await store.list(bucket, 'k.png')).items.length, 1);
      await store.delete(bucket, 'k.png');
      assert.equal(await store.stat(bucket, 'k.png'), undefined);
    });

    it('puts racing on one key leave one of them whole: body, etag, content type and metadata of the same put', async () => {
      // Bodies of different sizes so the writes take different times and the puts interleave.
      const bodies = Array.from({ length: 24 }, (_, i) => randomBytes(1 + ((i * 7919) % 97) * 1024));
      for (let round = 0; round < 3; round++) {
        const key = `race/${round}.bin`;
        const puts = await Promise.all(
          bodies.map((body, i) => store.put(bucket, key, body, { contentType: `application/x-put-${i}`, metadata: { put: String(i) } })),
        );
        const { body, info } = await store.get(bucket, key);
        const winner = Number(info.metadata['put']);
        assert.ok(Number.isInteger(winner) && winner >= 0 && winner < bodies.length, `metadata of no put: ${JSON.stringify(info.metadata)}`);
        assert.deepEqual(body, bodies[winner], `round ${round}: the body is not put ${winner}'s, whose metadata the object carries`);
        assert.equal(info.etag, puts[winner].etag, `round ${round}: etag of another put than the body's`);
        assert.equal(info.contentType, `application/x-put-${winner}`);
        assert.equal(info.size, bodies[winner].length);
        const listed = (await store.list(bucket, key)).items;
        assert.deepEqual(
          listed.map((i) => [i.key, i.etag]),
          [[key, puts[winner].etag]],
        );
      }
    });

    it('a delete racing puts on one key leaves no object or one put whole, never a body without its description', async () => {
      const bodies = Array.from({ length: 12 }, (_, i) => randomBytes(1 + i * 4096));
      for (let round = 0; round < 4; round++) {
        const key = `race-delete/${round}.bin`;
        await Promise.all(
          bodies.flatMap((body, i) => [
            store.put(bucket, key, body, { contentType: `application/x-put-${i}`, metadata: { put: String(i) } }),
            ...(i % 3 === round % 3 ? [store.delete(bucket, key)] : []),
          ]),
        );
        const info = await store.stat(bucket, key);
        if (!info) {
          await assert.rejects(store.get(bucket, key), ObjectNotFoundError);
          assert.deepEqual((await store.list(bucket, key)).items, []);
          continue;
        }
        const winner = Number(info.metadata['put']);
        assert.equal(info.contentType, `application/x-put-${winner}`, `round ${round}: ${JSON.stringify(info)}`);
        assert.deepEqual((await store.get(bucket, key)).body, bodies[winner]);
      }
    });

    it('reads racing puts on one key get the bytes and the description of one and the same put', async () => {
      const bodies = Array.from({ length: 16 }, (_, i) => randomBytes(1 + ((i * 7919) % 61) * 4096));
      const key = 'race-read/photo.bin';
      const put = (i: number) => store.put(bucket, key, bodies[i], { contentType: `application/x-put-${i}`, metadata: { put: String(i) } });
      await put(0);
      let putting = true;
      const reads: { body: Buffer; info: { contentType: string; metadata: Record<string, string>; size: number } }[] = [];
      // four readers reading again and again while the puts run
      const readers = Array.from({ length: 4 }, async () => {
        while (putting) reads.push(await store.get(bucket, key));
      });
      await Promise.all(bodies.map((_, i) => put(i)));
      putting = false;
      await Promise.all(readers);
      assert.ok(reads.length >= 4);
      for (const { body, info } of reads) {
        const i = Number(info.metadata['put']);
        assert.equal(info.contentType, `application/x-put-${i}`);
        assert.equal(info.size, body.length);
        assert.deepEqual(body, bodies[i], `a read got put ${i}'s description with other bytes`);
      }
    });

    it('rejects keys that could escape the bucket, before any request', async () => {
      for (const key of ['../x', 'a/../../x', '/etc/passwd', 'a//b', 'a\\b', 'a/./b', '']) {
        await assert.rejects(store.put(bucket, key, Buffer.from('x'), { contentType: 'text/plain' }), InvalidKeyError, key);
      }
      await assert.rejects(store.get(bucket, 'missing.jpg'), ObjectNotFoundError);
      assert.equal(await store.stat(bucket, 'missing.jpg'), undefined);
    });
  });
}
