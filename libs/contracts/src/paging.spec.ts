import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keysetCursor, StoreCursor, storeCursor } from './paging';
import { SeedGapCursor, SubjectCursor } from './subjects';

describe('page cursors', () => {
  it('a store cursor round-trips any key and always stays under the listing root', () => {
    for (const key of ['acme/0a1b/photo.jpg', 'acme/ü ñ/喫茶店 ☕.png', 'acme/a.b/../c', `acme/${'k'.repeat(1019)}`]) {
      const cursor = storeCursor.after('acme/', key);
      assert.ok(StoreCursor.safeParse(cursor).success, cursor);
      assert.equal(storeCursor.startAfter('acme/', cursor), key);
    }
    // Any well-formed cursor is a position under the root, whoever issued it.
    for (const forged of ['AA', 'Li4vLi4vb3RoZXIvc2VjcmV0', '_-_-', 'x'.repeat(1366)]) {
      assert.ok(StoreCursor.safeParse(forged).success, forged);
      assert.ok(storeCursor.startAfter('acme/', forged).startsWith('acme/'));
    }
    for (const malformed of ['', 'elsewhere/x', 'a b', 'x'.repeat(1367), '{}']) assert.equal(StoreCursor.safeParse(malformed).success, false, malformed);
  });

  it('a keyset cursor round-trips its key, texts with dots and any script included', () => {
    const keys = [
      { seedCount: 0, name: '', id: '0123456789abcdef' },
      { seedCount: 12, name: 'running shoe', id: 'fadaad34f0296d67' },
      { seedCount: 999_999_999, name: 'a.b.c ☕ 𝄞 喫茶店', id: 'x.y' },
    ];
    for (const key of keys) {
      const cursor = SubjectCursor.encode(key);
      assert.ok(SubjectCursor.schema.safeParse(cursor).success, cursor);
      assert.deepEqual(SubjectCursor.decode(cursor), key);
    }
    const gap = { count: 3, lastSeenAt: '2026-12-01T04:00:00.000Z', kind: 'subject' as const, text: 'snow chains' };
    assert.deepEqual(SeedGapCursor.decode(SeedGapCursor.encode(gap)), gap);
  });

  it('every string the pattern allows decodes to a key; anything else is refused', () => {
    const codec = keysetCursor([
      { name: 'n', kind: 'int' },
      { name: 'k', kind: 'enum', values: ['a', 'b'] },
      { name: 't', kind: 'text', maxChars: 2 },
    ] as const);
    for (const cursor of ['0.a.', '7.b.AAAA', '123456789.a._-8']) {
      assert.ok(codec.schema.safeParse(cursor).success, cursor);
      const key = codec.decode(cursor);
      assert.ok(key && typeof key.n === 'number' && ['a', 'b'].includes(key.k) && typeof key.t === 'string', cursor);
    }
    for (const cursor of ['', '1.a', '01.a.', '1.c.', '1.a.AAAAAAAAA', '1234567890.a.', 'bm90LWEtY3Vyc29y', '{}']) {
      assert.equal(codec.schema.safeParse(cursor).success, false, cursor);
      assert.equal(codec.decode(cursor), undefined, cursor);
    }
  });
});
