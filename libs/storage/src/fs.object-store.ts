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
    if (created && this.sync) await syncFolders(new Set(holdersOfNew(metaDir, created)));
  }

  async put(bucket: string, key: string, body: Buffer, options: PutOptions): Promise<ObjectInfo> {
    const file = this.file(bucket, key);
    const sidecarFile = this.sidecarFile(bucket, key);
    const etag = createHash('md5').update(body).digest('hex');
    const sidecar: Sidecar = { contentType: options.contentType, etag, metadata: lowerKeys(options.metadata ?? {}) };
    // Both temporary files written (and flushed) at once; the body's name first, then its sidecar's.
    const written = await Promise.allSettled([this.writeTemp(bucket, file, body), this.writeTemp(bucket, sidecarFile, Buffer.from(JSON.stringify(sidecar)))]);
    const [bodyTmp, sidecarTmp] = written.map((w) => (w.status === 'fulfilled' ? w.value : undefined));
    if (!bodyTmp || !sidecarTmp) {
      await Promise.all([bodyTmp, sidecarTmp].filter((w) => w !== undefined).map((w) => fs.rm(w.tmp, { force: true })));
      throw (written.find((w) => w.status === 'rejected') as PromiseRejectedResult).reason;
    }
    await fs.rename(bodyTmp.tmp, file);
    await fs.rename(sidecarTmp.tmp, sidecarFile);
    if (this.sync) await syncFolders(new Set([...bodyTmp.folders, ...sidecarTmp.folders]));
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
    await fs.rm(this.file(bucket, key), { force: true });
    await fs.rm(this.sidecarFile(bucket, key), { force: true });
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
   * Writes `body` to a temporary file beside `file` (flushed with `sync`), making the folders
   * under the bucket it lacks. Returns the temporary name and the folders whose
   * entries the rename and the new folders change (to flush once renamed).
   */
  private async writeTemp(bucket: string, file: string, body: Buffer): Promise<{ tmp: string; folders: string[] }> {
    const tmp = `${file}.adseed-tmp-${randomUUID().slice(0, 8)}`;
    const folder = dirname(file);
    const folders = [folder];
    let handle;
    try {
      handle = await fs.open(tmp, 'w');
    } catch (error) {
      // The folder is usually there already: make it only when the open says it is not, and
      // never make the bucket itself (a put into a missing bucket fails, as on MinIO).
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      const bucketDir = join(this.root, bucket);
      if (!(await isDirectory(bucketDir))) throw new ObjectNotFoundError(bucket, '(bucket does not exist)');
      const created = await fs.mkdir(folder, { recursive: true });
      if (created) folders.push(...holdersOfNew(folder, created).slice(1));
      handle = await fs.open(tmp, 'w');
    }
    try {
      await handle.writeFile(body);
      if (this.sync) await handle.datasync();
      return { tmp, folders };
    } catch (error) {
      await fs.rm(tmp, { force: true });
      throw error;
    } finally {
      await handle.close();
    }
  }
}

/**
 * After `mkdir -p folder` made `created` (its first new folder) and everything below it: the
 * folders whose entries changed, `folder` itself first, up to the one that holds `created`.
 */
function holdersOfNew(folder: string, created: string): string[] {
  const holders = [folder];
  for (let f = folder; f !== dirname(created) && dirname(f) !== f;) holders.push((f = dirname(f)));
  return holders;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await fs.stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Flushes folders' entries (new names, new subfolders) to disk. */
async function syncFolders(folders: Set<string>): Promise<void> {
  await Promise.all(
    [...folders].map(async (folder) => {
      const handle = await fs.open(folder, 'r');
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
