import { createHash, randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { assertValidBucket, assertValidKey, ObjectNotFoundError, type ListPage, type ObjectInfo, type ObjectStore, type PutOptions } from './object-store.port';

interface ObjectMeta {
  contentType: string;
  etag: string;
  metadata: Record<string, string>;
  /** The inode of the body this describes (a rename keeps it); absent in sidecars of older versions. */
  ino?: number;
}

/** A sidecar describes the body put with it and, after a replacement, the body it replaced. */
interface Sidecar extends ObjectMeta {
  previous?: ObjectMeta;
}

const META_DIR = '.adseed-meta';

interface TempFile {
  name: string;
  handle: FileHandle;
  folder: string;
  bucketDir: string;
}

/**
 * What a sidecar says about the body whose inode is `ino`: the replaced body's entry when a put
 * stopped between renaming the sidecar and renaming the body (the old body is still there), else
 * its own. A body whose inode neither names (a data folder copied or restored elsewhere, or two
 * processes writing one data folder: within one, a key's puts take turns) is described by the
 * newest entry, as before bodies were named by inode.
 */
function metaOfBody(sidecar: Sidecar | undefined, ino: number): ObjectMeta | undefined {
  if (!sidecar) return undefined;
  const { previous, ...current } = sidecar;
  return ino && current.ino !== ino && previous?.ino === ino ? previous : current;
}

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
  /** Per key, the end of the last put, delete or read called (see inTurn). */
  private readonly turns = new Map<string, Promise<void>>();

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
    return this.inTurn(file, () => this.replace(bucket, key, file, body, options));
  }

  /** `put` in its key's turn: the two renames and the description read before them are one step. */
  private async replace(bucket: string, key: string, file: string, body: Buffer, options: PutOptions): Promise<ObjectInfo> {
    const sidecarFile = this.sidecarFile(bucket, key);
    const etag = createHash('md5').update(body).digest('hex');
    const meta: ObjectMeta = { contentType: options.contentType, etag, metadata: lowerKeys(options.metadata ?? {}) };
    // The body's temporary file first (its inode names the body in the sidecar), then both files
    // written (and flushed) at once, while the description of the body being replaced is read.
    const bodyTmp = await this.openTemp(bucket, file);
    let sidecarTmp: string | undefined;
    try {
      const [replaced, ino] = await Promise.all([this.currentMeta(file, bucket, key), bodyTmp.handle.stat().then((st) => st.ino)]).catch(
        async (error: unknown) => {
          await bodyTmp.handle.close().catch(() => undefined);
          throw error;
        },
      );
      // After a crash between the two renames below, the old body is still in place: the sidecar
      // keeps its description beside the new one, and stat() picks the one naming the body there.
      const sidecar: Sidecar = { ...meta, ino, ...(replaced ? { previous: replaced } : {}) };
      const written = await Promise.allSettled([this.fill(bodyTmp, body), this.writeTemp(bucket, sidecarFile, Buffer.from(JSON.stringify(sidecar)))]);
      if (written[1].status === 'fulfilled') sidecarTmp = written[1].value;
      for (const w of written) if (w.status === 'rejected') throw w.reason;
      // The body's name is the commit point: its sidecar is in place (and on disk) first, so a
      // crash between the two never leaves a new object without its content type and metadata.
      await fs.rename(sidecarTmp!, sidecarFile);
      sidecarTmp = undefined;
      if (this.sync) await syncFolders([dirname(sidecarFile)]);
      await fs.rename(bodyTmp.name, file);
      if (this.sync) await syncFolders([dirname(file)]);
    } catch (error) {
      await Promise.all([bodyTmp.name, sidecarTmp].flatMap((tmp) => (tmp ? [fs.rm(tmp, { force: true })] : [])));
      throw error;
    }
    // What stat() would say, without reading back the sidecar just written.
    const { mtime } = await fs.stat(file);
    return { bucket, key, size: body.length, etag, contentType: meta.contentType, lastModified: mtime, metadata: meta.metadata };
  }

  async get(bucket: string, key: string): Promise<{ body: Buffer; info: ObjectInfo }> {
    const file = this.file(bucket, key);
    // The body and the metadata are read at once (one round trip less per object on ingest), in
    // the key's turn: no put of this key renames a file between the two reads.
    const [info, body] = await this.inTurn(file, () =>
      Promise.all([
        this.describe(bucket, key, file),
        fs.readFile(file).catch((error: unknown) => {
          // absent, or a folder: as absent as if it had never been there
          if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'EISDIR') return undefined;
          throw error;
        }),
      ]),
    );
    if (!info || !body) throw new ObjectNotFoundError(bucket, key);
    return { body, info };
  }

  async stat(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    const file = this.file(bucket, key);
    return this.inTurn(file, () => this.describe(bucket, key, file));
  }

  /** What `stat` says, read now (the caller holds the key's turn). */
  private async describe(bucket: string, key: string, file: string): Promise<ObjectInfo | undefined> {
    let stats;
    try {
      stats = await fs.stat(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    if (!stats.isFile()) return undefined;
    const sidecar = metaOfBody(await this.readSidecar(bucket, key), stats.ino);
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
    await this.inTurn(file, async () => {
      // the body's name first (the object is gone), then its sidecar; with `sync`, both on disk
      await fs.rm(file, { force: true });
      await fs.rm(sidecarFile, { force: true });
      if (this.sync) await syncFolders([dirname(file), dirname(sidecarFile)]);
    });
  }

  async presignedGetUrl(): Promise<string | undefined> {
    return undefined; // the gateway streams embedded objects itself
  }

  async close(): Promise<void> {}

  /**
   * Runs a put, delete or read of `file` after those of the same key called before it (different
   * keys run side by side). A put renames two files (sidecar, then body): two puts interleaving
   * there would leave one's body with the other's description, a delete between them a body with
   * none, and a read between them could pair one put's bytes with another's description. In call
   * order, so the last put called wins (as the latest request does on S3), and a read sees every
   * put called before it. Reads of one key wait for each other too (a reader-writer lock would let
   * them overlap; a read takes a few file calls, and a key is read once per ingest). One process
   * per data folder (the one-process mode) is what this covers.
   */
  private inTurn<T>(file: string, work: () => Promise<T>): Promise<T> {
    const result = (this.turns.get(file) ?? Promise.resolve()).then(work);
    const turn = result.then(
      () => undefined,
      () => undefined,
    );
    this.turns.set(file, turn);
    void turn.then(() => {
      if (this.turns.get(file) === turn) this.turns.delete(file);
    });
    return result;
  }

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
   * The description of the body now at `key`, from its sidecar (see `metaOfBody`), with the body's
   * inode; undefined when there is no body or no sidecar.
   */
  private async currentMeta(file: string, bucket: string, key: string): Promise<ObjectMeta | undefined> {
    const [stats, sidecar] = await Promise.all([fs.stat(file).catch(() => undefined), this.readSidecar(bucket, key)]);
    if (!stats?.isFile()) return undefined;
    const meta = metaOfBody(sidecar, stats.ino);
    return meta && { contentType: meta.contentType, etag: meta.etag, metadata: meta.metadata, ino: stats.ino };
  }

  /** Writes `body` to a temporary file beside `file` (see `openTemp`, `fill`) and returns its name. */
  private async writeTemp(bucket: string, file: string, body: Buffer): Promise<string> {
    return this.fill(await this.openTemp(bucket, file), body);
  }

  /**
   * Creates a temporary file beside `file`, making the folders under the bucket it lacks (the
   * folders holding new ones are flushed then, also when a put running beside it made them: `fill`
   * waits for that flush, so no put returns while its folder's name may still be lost).
   */
  private async openTemp(bucket: string, file: string): Promise<TempFile> {
    const name = `${file}.adseed-tmp-${randomUUID().slice(0, 8)}`;
    const folder = dirname(file);
    const bucketDir = join(this.root, bucket);
    try {
      return { name, folder, bucketDir, handle: await fs.open(name, 'w') };
    } catch (error) {
      // The folder is usually there already: make it only when the open says it is not, and
      // never make the bucket itself (a put into a missing bucket fails, as on MinIO).
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      if (!(await isDirectory(bucketDir))) throw new ObjectNotFoundError(bucket, '(bucket does not exist)');
      await this.makeFolder(folder, bucketDir);
      return { name, folder, bucketDir, handle: await fs.open(name, 'w') };
    }
  }

  /** Writes `body` into a temporary file (flushed with `sync`) and closes it; removes it on failure. */
  private async fill(temp: TempFile, body: Buffer): Promise<string> {
    const { handle, name, folder, bucketDir } = temp;
    try {
      await handle.writeFile(body);
      if (this.sync) await handle.datasync();
    } catch (error) {
      await handle.close().catch(() => undefined);
      await fs.rm(name, { force: true });
      throw error;
    }
    await handle.close();
    // A folder another put is making (and flushing) right now: wait until its name is on disk.
    await Promise.all(chainUpTo(folder, bucketDir).flatMap((f) => this.foldersInFlight.get(f) ?? []));
    return name;
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
