import { promises as fsp } from 'node:fs';
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
 */
async function recordingFs<T>(root: string, run: () => Promise<T>, failOpen?: (path: string) => boolean): Promise<string[]> {
  const calls: string[] = [];
  const name = (p: string) => relative(root, p).replace(/\.adseed-tmp-[0-9a-f]+$/, '~tmp');
  const { open, rename } = fsp;
  fsp.open = (async (path: string, ...rest: unknown[]) => {
    if (failOpen?.(path)) throw Object.assign(new Error(`EIO: open ${name(path)}`), { code: 'EIO' });
    const handle = await (open as (...a: unknown[]) => Promise<fsp.FileHandle>)(path, ...rest);
    const { datasync, sync } = handle;
    handle.datasync = async () => (calls.push(`datasync ${name(path)}`), datasync.call(handle));
    handle.sync = async () => (calls.push(`sync ${name(path) || '.'}`), sync.call(handle));
    return handle;
  }) as typeof fsp.open;
  fsp.rename = (async (from: string, to: string) => (calls.push(`rename ${name(from)} → ${name(to)}`), rename(from, to))) as typeof fsp.rename;
  try {
    await run();
  } finally {
    fsp.open = open;
    fsp.rename = rename;
  }
  return calls;
}

it('FsObjectStore flushes a put to disk before it returns: data before the names, the names before the reply', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'adseed-store-sync-'));
  try {
    const store = new FsObjectStore(dir);
    await store.ensureBucket('seeds');
    const calls = await recordingFs(dir, () => store.put('seeds', 'acme/new/photo.jpg', Buffer.from('jpeg'), { contentType: 'image/jpeg' }));
    const renames = calls.filter((c) => c.startsWith('rename'));
    assert.deepEqual(renames, [
      'rename seeds/acme/new/photo.jpg~tmp → seeds/acme/new/photo.jpg',
      'rename seeds/.adseed-meta/acme/new/photo.jpg.json~tmp → seeds/.adseed-meta/acme/new/photo.jpg.json',
    ]);
    const firstRename = calls.indexOf(renames[0]);
    assert.deepEqual(
      calls.slice(0, firstRename).sort(),
      ['datasync seeds/.adseed-meta/acme/new/photo.jpg.json~tmp', 'datasync seeds/acme/new/photo.jpg~tmp'],
      'both files flushed before either is renamed',
    );
    assert.deepEqual(
      calls.slice(firstRename + 2).sort(),
      // the folders holding the new names, and those holding the folders the put made
      ['sync seeds', 'sync seeds/.adseed-meta', 'sync seeds/.adseed-meta/acme', 'sync seeds/.adseed-meta/acme/new', 'sync seeds/acme', 'sync seeds/acme/new'],
    );
    const again = await recordingFs(dir, () => store.put('seeds', 'acme/new/photo.jpg', Buffer.from('jpeg 2'), { contentType: 'image/jpeg' }));
    assert.deepEqual(
      again.filter((c) => c.startsWith('sync')).sort(),
      ['sync seeds/.adseed-meta/acme/new', 'sync seeds/acme/new'],
      'folders already there: only the ones whose entries changed',
    );
    assert.equal((await store.get('seeds', 'acme/new/photo.jpg')).body.toString(), 'jpeg 2');
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
      'rename seeds/acme/photo.jpg~tmp → seeds/acme/photo.jpg',
      'rename seeds/.adseed-meta/acme/photo.jpg.json~tmp → seeds/.adseed-meta/acme/photo.jpg.json',
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
      (path) => path.includes('.adseed-meta') && path.includes('.adseed-tmp-'),
    );
    assert.match(String(failure), /EIO: open seeds\/\.adseed-meta\/acme\/photo\.jpg\.json~tmp/);
    const left = async (folder: string): Promise<string[]> =>
      (await readdir(folder, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath ?? e.path, e.name));
    assert.deepEqual(await left(join(dir, 'seeds')), [], 'the body written beside it was removed, nothing renamed');
    assert.equal(await store.stat('seeds', 'acme/photo.jpg'), undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
