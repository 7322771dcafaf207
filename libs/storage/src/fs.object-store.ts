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
 */
export class FsObjectStore implements ObjectStore {
  constructor(private readonly root: string) {}

  async ensureBucket(bucket: string): Promise<void> {
    assertValidBucket(bucket);
    await fs.mkdir(join(this.root, bucket, META_DIR), { recursive: true });
  }

  async put(bucket: string, key: string, body: Buffer, options: PutOptions): Promise<ObjectInfo> {
    const file = this.file(bucket, key);
    await this.requireBucket(bucket);
    const etag = createHash('md5').update(body).digest('hex');
    const sidecar: Sidecar = { contentType: options.contentType, etag, metadata: lowerKeys(options.metadata ?? {}) };
    await atomicWrite(file, body);
    await atomicWrite(this.sidecarFile(bucket, key), Buffer.from(JSON.stringify(sidecar)));
    // What stat() would say, without reading back the sidecar just written.
    const stats = await fs.stat(file);
    return { bucket, key, size: stats.size, etag, contentType: sidecar.contentType, lastModified: stats.mtime, metadata: sidecar.metadata };
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

  private async requireBucket(bucket: string): Promise<void> {
    try {
      await fs.access(join(this.root, bucket));
    } catch {
      throw new ObjectNotFoundError(bucket, '(bucket does not exist)');
    }
  }
}

async function atomicWrite(file: string, body: Buffer): Promise<void> {
  const tmp = `${file}.adseed-tmp-${randomUUID().slice(0, 8)}`;
  try {
    await fs.writeFile(tmp, body);
  } catch (error) {
    // The folder is usually there already: make it only when the write says it is not.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    await fs.mkdir(dirname(file), { recursive: true });
    await fs.writeFile(tmp, body);
  }
  await fs.rename(tmp, file);
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
