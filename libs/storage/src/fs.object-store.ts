import { createHash, randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { assertValidBucket, assertValidKey, ObjectNotFoundError, type ListPage, type ObjectInfo, type ObjectStore, type PutOptions } from './object-store.port';

interface Sidecar {
  contentType: string;
  etag: string;
  metadata: Record<string, string>;
}

const META_DIR = '.adseed-meta';

/**
 * The embedded object store: `<root>/<bucket>/<key>` on the local filesystem, with content type,
 * etag and user metadata in a sidecar under `<root>/<bucket>/.adseed-meta/`. Writes go to a
 * temporary file and are renamed into place, so a reader never sees half an object.
 *
 * With `sync` (the default) a put is durable when it returns, as MinIO's is: both temporary files
 * are flushed (fdatasync) before they are renamed, and the folders holding the new names are
 * flushed after. Without it a power cut (not a killed process: the page cache survives that) could
 * lose an object whose ingest event the bus journal had already made durable, and that event would
 * then be dead-lettered as "object not found".
 */
export class FsObjectStore implements ObjectStore {
  private readonly sync: boolean;
  /** Folders being made by a put, until the folders holding them are flushed. */
  private readonly foldersInFlight = new Map<string, Promise<void>>();

  constructor(
    private readonly root: string,
    options: { sync?: boolean } = {},
  ) {
    this.sync = options.sync ?? true;
  }

  async ensureBucket(bucket: string): Promise<void> {
    assertValidBucket(bucket);
    const metaDir = join(this.root, bucket, META_DIR);
    const created = await fs.mkdir(metaDir, { recursive: true });
    if (created && this.sync) await syncFolders(chainUpTo(metaDir, dirname(created)));
  }

  async put(bucket: string, key: string, body: Buffer, options: PutOptions): Promise<ObjectInfo> {
    const file = this.file(bucket, key);
    const sidecarFile = this.sidecarFile(bucket, key);
    const etag = createHash('md5').update(body).digest('hex');
    const sidecar: Sidecar = { contentType: options.contentType, etag, metadata: lowerKeys(options.metadata ?? {}) };
    // Both temporary files written (and flushed) at once.
    const written = await Promise.allSettled([this.writeTemp(bucket, file, body), this.writeTemp(bucket, sidecarFile, Buffer.from(JSON.stringify(sidecar)))]);
    const temps = written.flatMap((w) => (w.status === 'fulfilled' ? [w.value] : []));
    try {
      if (temps.length < written.length) throw (written.find((w) => w.status === 'rejected') as PromiseRejectedResult).reason;
      const [bodyTmp, sidecarTmp] = temps;
      // The body's name is the commit point: its sidecar is in place (and on disk) first, so a
      // crash between the two never leaves a new object without its content type and metadata.
      await fs.rename(sidecarTmp, sidecarFile);
      if (this.sync) await syncFolders([dirname(sidecarFile)]);
      await fs.rename(bodyTmp, file);
      if (this.sync) await syncFolders([dirname(file)]);
    } catch (error) {
      await Promise.all(temps.map((tmp) => fs.rm(tmp, { force: true })));
      throw error;
    }
    // What stat() would say, without reading back the sidecar just written.
    const { mtime } = await fs.stat(file);
    return { bucket, key, size: body.length, etag, contentType: sidecar.contentType, lastModified: mtime, metadata: sidecar.metadata };
  }

  async get(bucket: string, key: string): Promise<{ body: Buffer; info: ObjectInfo }> {
    // The body and the metadata are read at once (one round trip less per object on ingest).
    const [info, body] = await Promise.all([
      this.stat(bucket, key),
      fs.readFile(this.file(bucket, key)).catch((error: unknown) => {
        // absent, or deleted between the stat and the read: as absent as if it had never been there
        if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'EISDIR') return undefined;
        throw error;
      }),
    ]);
    if (!info || !body) throw new ObjectNotFoundError(bucket, key);
    return { body, info };
  }

  async stat(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    const file = this.file(bucket, key);
    let stats;
    try {
      stats = await fs.stat(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    if (!stats.isFile()) return undefined;
    const sidecar = await this.readSidecar(bucket, key);
    return {
      bucket,
      key,
      size: stats.size,
      etag:
        sidecar?.etag ??
        createHash('md5')
          .update(await fs.readFile(file))
          .digest('hex'),
      contentType: sidecar?.contentType ?? 'application/octet-stream',
      lastModified: stats.mtime,
      metadata: sidecar?.metadata ?? {},
    };
  }

  async list(bucket: string, prefix: string, options: { limit?: number; startAfter?: string } = {}): Promise<ListPage> {
    assertValidBucket(bucket);
    const limit = options.limit ?? 1000;
    const base = join(this.root, bucket);
    const keys = (await walk(base)).map((f) => relative(base, f).split(sep).join('/'));
    const matching = keys
      .filter((k) => !k.startsWith(META_DIR + '/') && k.startsWith(prefix) && !k.includes('.adseed-tmp-'))
      .filter((k) => options.startAfter === undefined || k > options.startAfter)
      .sort();
    const page = matching.slice(0, limit);
    const items = (await Promise.all(page.map((k) => this.stat(bucket, k)))).filter((i): i is ObjectInfo => Boolean(i));
    return { items, nextStartAfter: matching.length > limit ? page[page.length - 1] : undefined };
  }

  async delete(bucket: string, key: string): Promise<void> {
    const file = this.file(bucket, key);
    const sidecarFile = this.sidecarFile(bucket, key);
    // the body's name first (the object is gone), then its sidecar; with `sync`, both on disk
    await fs.rm(file, { force: true });
    await fs.rm(sidecarFile, { force: true });
    if (this.sync) await syncFolders([dirname(file), dirname(sidecarFile)]);
  }

  async presignedGetUrl(): Promise<string | undefined> {
    return undefined; // the gateway streams embedded objects itself
  }

  async close(): Promise<void> {}

  private file(bucket: string, key: string): string {
    assertValidBucket(bucket);
    assertValidKey(key);
    return join(this.root, bucket, ...key.split('/'));
  }

  private sidecarFile(bucket: string, key: string): string {
    return join(this.root, bucket, META_DIR, ...key.split('/')) + '.json';
  }

  private async readSidecar(bucket: string, key: string): Promise<Sidecar | undefined> {
    try {
      return JSON.parse(await fs.readFile(this.sidecarFile(bucket, key), 'utf8')) as Sidecar;
    } catch {
      return undefined;
    }
  }

  /**
   * Writes `body` to a temporary file beside `file` (flushed with `sync`) and returns its name,
   * making the folders under the bucket it lacks (the folders holding new ones are flushed then,
   * also when a put running beside it made them: it waits for that flush, so no put returns while
   * its folder's name may still be lost).
   */
  private async writeTemp(bucket: string, file: string, body: Buffer): Promise<string> {
    const tmp = `${file}.adseed-tmp-${randomUUID().slice(0, 8)}`;
    const folder = dirname(file);
    const bucketDir = join(this.root, bucket);
    let handle;
    try {
      handle = await fs.open(tmp, 'w');
    } catch (error) {
      // The folder is usually there already: make it only when the open says it is not, and
      // never make the bucket itself (a put into a missing bucket fails, as on MinIO).
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      if (!(await isDirectory(bucketDir))) throw new ObjectNotFoundError(bucket, '(bucket does not exist)');
      await this.makeFolder(folder, bucketDir);
      handle = await fs.open(tmp, 'w');
    }
    try {
      await handle.writeFile(body);
      if (this.sync) await handle.datasync();
    } catch (error) {
      await handle.close().catch(() => undefined);
      await fs.rm(tmp, { force: true });
      throw error;
    }
    await handle.close();
    // A folder another put is making (and flushing) right now: wait until its name is on disk.
    await Promise.all(chainUpTo(folder, bucketDir).flatMap((f) => this.foldersInFlight.get(f) ?? []));
    return tmp;
  }

  /**
   * `mkdir -p folder` (inside the bucket), then, with `sync`, flushes the folders that hold the new
   * ones. Puts into any folder of the chain meanwhile wait for that flush (see writeTemp).
   */
  private async makeFolder(folder: string, bucketDir: string): Promise<void> {
    const chain = chainUpTo(folder, bucketDir);
    let done!: () => void;
    const flushed = new Promise<void>((resolve) => (done = resolve));
    for (const f of chain) this.foldersInFlight.set(f, flushed);
    try {
      const created = await fs.mkdir(folder, { recursive: true });
      // the folders holding a new folder (the folder itself is flushed after the put's rename)
      if (created && this.sync) await syncFolders(chainUpTo(dirname(folder), dirname(created)));
    } finally {
      done();
      for (const f of chain) if (this.foldersInFlight.get(f) === flushed) this.foldersInFlight.delete(f);
    }
  }
}

/** `folder` and the folders above it, up to and including `top`. */
function chainUpTo(folder: string, top: string): string[] {
  const chain = [folder];
  for (let f = folder; f.length > top.length && dirname(f) !== f;) chain.push((f = dirname(f)));
  return chain;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await fs.stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Flushes folders' entries (new, renamed or removed names) to disk; a folder that is not there has none. */
async function syncFolders(folders: Iterable<string>): Promise<void> {
  await Promise.all(
    [...new Set(folders)].map(async (folder) => {
      let handle;
      try {
        handle = await fs.open(folder, 'r');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    }),
  );
}

async function walk(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const nested = await Promise.all(entries.map((e) => (e.isDirectory() ? walk(join(dir, e.name)) : Promise.resolve(e.isFile() ? [join(dir, e.name)] : []))));
  return nested.flat();
}

const lowerKeys = (record: Record<string, string>) => Object.fromEntries(Object.entries(record).map(([k, v]) => [k.toLowerCase(), v]));
