import { createHash } from 'node:crypto';
import { existsSync, promises as fsp } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
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
    await assert.rejects(store.put('nobucket', 'a/b/x', Buffer.from('x'), { contentType: 'text/plain' }), ObjectNotFoundError);
    assert.deepEqual((await readdir(dir)).sort(), ['seeds'], 'a put into a missing bucket makes no folder');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/**
 * Records the filesystem calls a put makes through `fs.promises` (the store's own import): opens
 * with the flushes made through them, and renames, as `datasync <file>`, `sync <folder>`,
 * `rename <from> → <to>`, paths relative to `root` with the temporary suffix cut to `~tmp`.
 * `run` may add its own entries to the same list. Options: make some opens or renames (by their
 * target) fail, or some folder flushes take `slowMs` (then `synced <folder>` marks their end).
 */
async function recordingFs(
  root: string,
  run: (calls: string[]) => Promise<unknown>,
  options: { failOpen?: (path: string) => boolean; failRename?: (to: string) => boolean; slowSync?: (folder: string) => boolean; slowMs?: number } = {},
): Promise<string[]> {
  const calls: string[] = [];
  const name = (p: string) => relative(root, p).replace(/\.adseed-tmp-[0-9a-f]+$/, '~tmp') || '.';
  const { open, rename } = fsp;
  fsp.open = (async (path: string, ...rest: unknown[]) => {
    if (options.failOpen?.(path)) throw Object.assign(new Error(`EIO: open ${name(path)}`), { code: 'EIO' });
    const handle = await (open as (...a: unknown[]) => Promise<fsp.FileHandle>)(path, ...rest);
    const { datasync, sync } = handle;
    handle.datasync = async () => (calls.push(`datasync ${name(path)}`), datasync.call(handle));
    handle.sync = async () => {
      calls.push(`sync ${name(path)}`);
      if (!options.slowSync?.(name(path))) return sync.call(handle);
      await new Promise((resolve) => setTimeout(resolve, options.slowMs ?? 100));
      await sync.call(handle);
      calls.push(`synced ${name(path)}`);
    };
    return handle;
  }) as typeof fsp.open;
  fsp.rename = (async (from: string, to: string) => {
    calls.push(`rename ${name(from)} → ${name(to)}`);
    if (options.failRename?.(to)) throw Object.assign(new Error(`EIO: rename to ${name(to)}`), { code: 'EIO' });
    return rename(from, to);
  }) as typeof fsp.rename;
  try {
    await run(calls);
  } finally {
    fsp.open = open;
    fsp.rename = rename;
  }
  return calls;
}

it('FsObjectStore flushes a put to disk before it returns: data before the names, the sidecar before the body, the names before the reply', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'adseed-store-sync-'));
  try {
    const store = new FsObjectStore(dir);
    await store.ensureBucket('seeds');
    const calls = await recordingFs(dir, () => store.put('seeds', 'acme/new/photo.jpg', Buffer.from('jpeg'), { contentType: 'image/jpeg' }));
    const renames = calls.filter((c) => c.startsWith('rename'));
    assert.deepEqual(renames, [
      'rename seeds/.adseed-meta/acme/new/photo.jpg.json~tmp → seeds/.adseed-meta/acme/new/photo.jpg.json',
      'rename seeds/acme/new/photo.jpg~tmp → seeds/acme/new/photo.jpg',
    ]);
    const [first, second] = renames.map((r) => calls.indexOf(r));
    assert.deepEqual(
      calls.slice(0, first).sort(),
      [
        'datasync seeds/.adseed-meta/acme/new/photo.jpg.json~tmp',
        'datasync seeds/acme/new/photo.jpg~tmp',
        // the folders holding the folders the put made
        'sync seeds',
        'sync seeds/.adseed-meta',
        'sync seeds/.adseed-meta/acme',
        'sync seeds/acme',
      ],
      'both files and every new folder flushed before anything is renamed',
    );
    assert.deepEqual(calls.slice(first + 1, second), ['sync seeds/.adseed-meta/acme/new'], "the sidecar's name on disk before the body's is written");
    assert.deepEqual(calls.slice(second + 1), ['sync seeds/acme/new']);
    const again = await recordingFs(dir, () => store.put('seeds', 'acme/new/photo.jpg', Buffer.from('jpeg 2'), { contentType: 'image/jpeg' }));
    assert.deepEqual(
      again.filter((c) => c.startsWith('sync')),
      ['sync seeds/.adseed-meta/acme/new', 'sync seeds/acme/new'],
      'folders already there: only the ones whose entries changed',
    );
    assert.equal((await store.get('seeds', 'acme/new/photo.jpg')).body.toString(), 'jpeg 2');

    const deleted = await recordingFs(dir, () => store.delete('seeds', 'acme/new/photo.jpg'));
    assert.deepEqual(deleted.sort(), ['sync seeds/.adseed-meta/acme/new', 'sync seeds/acme/new'], 'a delete is on disk when it returns');
    assert.equal(await store.stat('seeds', 'acme/new/photo.jpg'), undefined);
    await store.delete('seeds', 'nowhere/photo.jpg'); // no folder to flush: nothing to do
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

it('FsObjectStore: a put into a folder another put is still making returns only once that folder is on disk', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'adseed-store-race-'));
  try {
    const store = new FsObjectStore(dir);
    await store.ensureBucket('seeds');
    const put = (key: string) => store.put('seeds', key, Buffer.from(key), { contentType: 'image/jpeg' });
    const calls = await recordingFs(
      dir,
      async (log) => {
        const first = put('acme/new/a.jpg');
        // the second starts once the first has made the folder, while its parent's flush is slow
        while (!existsSync(join(dir, 'seeds', 'acme', 'new'))) await new Promise((resolve) => setTimeout(resolve, 1));
        await Promise.all([first.then(() => log.push('a returned')), put('acme/new/b.jpg').then(() => log.push('b returned'))]);
      },
      { slowSync: (folder) => folder === 'seeds/acme', slowMs: 150 },
    );
    assert.ok(calls.includes('synced seeds/acme'), calls.join('\n'));
    assert.ok(
      calls.indexOf('b returned') > calls.indexOf('synced seeds/acme'),
      `b returned before the folder holding its folder was flushed:\n${calls.join('\n')}`,
    );
    assert.deepEqual(
      (await store.list('seeds', 'acme/')).items.map((i) => i.key),
      ['acme/new/a.jpg', 'acme/new/b.jpg'],
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

it('FsObjectStore with sync: false flushes nothing (throw-away data)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'adseed-store-nosync-'));
  try {
    const store = new FsObjectStore(dir, { sync: false });
    await store.ensureBucket('seeds');
    const calls = await recordingFs(dir, () => store.put('seeds', 'acme/photo.jpg', Buffer.from('jpeg'), { contentType: 'image/jpeg' }));
    assert.deepEqual(calls, [
      'rename seeds/.adseed-meta/acme/photo.jpg.json~tmp → seeds/.adseed-meta/acme/photo.jpg.json',
      'rename seeds/acme/photo.jpg~tmp → seeds/acme/photo.jpg',
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

it('FsObjectStore leaves no temporary file and no half object when one of the two writes of a put fails', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'adseed-store-fail-'));
  try {
    const store = new FsObjectStore(dir);
    await store.ensureBucket('seeds');
    let failure: unknown;
    await recordingFs(
      dir,
      () => store.put('seeds', 'acme/photo.jpg', Buffer.from('jpeg'), { contentType: 'image/jpeg' }).catch((error: unknown) => void (failure = error)),
      { failOpen: (path) => path.includes('.adseed-meta') && path.includes('.adseed-tmp-') },
    );
    assert.match(String(failure), /EIO: open seeds\/\.adseed-meta\/acme\/photo\.jpg\.json~tmp/);
    const left = async (folder: string): Promise<string[]> =>
      (await readdir(folder, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath ?? e.path, e.name));
    assert.deepEqual(await left(join(dir, 'seeds')), [], 'the body written beside it was removed, nothing renamed');
    assert.equal(await store.stat('seeds', 'acme/photo.jpg'), undefined);

    // a rename that fails (the key names a folder): its temporary files go too
    await store.put('seeds', 'acme/photo.jpg', Buffer.from('jpeg'), { contentType: 'image/jpeg' });
    await assert.rejects(store.put('seeds', 'acme', Buffer.from('x'), { contentType: 'image/jpeg' }));
    assert.deepEqual(
      (await left(join(dir, 'seeds'))).filter((f) => f.includes('.adseed-tmp-')),
      [],
    );
    assert.equal((await store.get('seeds', 'acme/photo.jpg')).body.toString(), 'jpeg');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

it('FsObjectStore: a replacement stopped between its two renames leaves the replaced object whole, body and description', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'adseed-store-replace-'));
  try {
    const store = new FsObjectStore(dir);
    await store.ensureBucket('seeds');
    const put = (body: string, caption: string) =>
      store.put('seeds', 'acme/photo.jpg', Buffer.from(body), { contentType: `image/${body}`, metadata: { caption } });
    const stopped = (body: string, caption: string) =>
      recordingFs(dir, () => assert.rejects(put(body, caption), /EIO: rename to seeds\/acme\/photo\.jpg/), {
        failRename: (to) => to.endsWith(join('seeds', 'acme', 'photo.jpg')),
      });
    const seen = async () => {
      const { body, info } = await store.get('seeds', 'acme/photo.jpg');
      return { body: body.toString(), etag: info.etag, contentType: info.contentType, metadata: info.metadata };
    };
    const md5 = (text: string) => createHash('md5').update(text).digest('hex');

    await put('png', 'first');
    const calls = await stopped('gif', 'second');
    assert.ok(
      calls.some((c) => c.startsWith('rename seeds/.adseed-meta/')),
      "the new sidecar was renamed into place before the body's rename failed",
    );
    assert.deepEqual(
      await seen(),
      { body: 'png', etag: md5('png'), contentType: 'image/png', metadata: { caption: 'first' } },
      'still the first object, as it was',
    );

    await put('webp', 'third');
    assert.deepEqual(await seen(), { body: 'webp', etag: md5('webp'), contentType: 'image/webp', metadata: { caption: 'third' } });
    // A data folder copied elsewhere (every body a new inode) keeps its descriptions.
    const copy = await mkdtemp(join(tmpdir(), 'adseed-store-copy-'));
    try {
      await fsp.cp(dir, copy, { recursive: true });
      const { body, info } = await new FsObjectStore(copy).get('seeds', 'acme/photo.jpg');
      assert.deepEqual([body.toString(), info.etag, info.contentType, info.metadata], ['webp', md5('webp'), 'image/webp', { caption: 'third' }]);
    } finally {
      await rm(copy, { recursive: true, force: true });
    }

    await stopped('bmp', 'fourth');
    assert.deepEqual(
      await seen(),
      { body: 'webp', etag: md5('webp'), contentType: 'image/webp', metadata: { caption: 'third' } },
      'a replaced replacement too',
    );

    // A sidecar written before bodies were named by inode still describes the body there.
    const sidecar = join(dir, 'seeds', '.adseed-meta', 'acme', 'photo.jpg.json');
    await fsp.writeFile(sidecar, JSON.stringify({ contentType: 'image/webp', etag: 'older', metadata: { caption: 'older' } }));
    assert.deepEqual(await seen(), { body: 'webp', etag: 'older', contentType: 'image/webp', metadata: { caption: 'older' } });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
