import { mkdir, open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DELETION_TOMBSTONE_TTL_MS, ingestPredatesDeletion } from '@adseed/contracts';

/** What the retrieval service remembers of a deletion. */
export interface Tombstone {
  assetId: string;
  tenant: string;
  deletedAt: string;
}

interface Kept extends Tombstone {
  /** When this service learnt of the deletion: what the time-to-live counts from. */
  recordedAt: string;
}

/** Lines appended since the file was last written whole, beyond which it is compacted. */
const COMPACT_AFTER_LINES = 4096;

/**
 * The assets deleted recently (tombstones), and one turn per asset for the work that reads and
 * writes its record. An `asset.embedded` of an ingest requested before the deletion must not
 * index the asset again (see `ingestPredatesDeletion`); the two topics are consumed side by side,
 * so a deletion and an index of one asset also take turns, or an index could read "no
 * tombstone", the deletion find nothing to drop, and the index then write the record.
 *
 * Tombstones are appended to a JSON-lines file (one per data folder), so a restart of the
 * process, which re-delivers the events not yet committed, still knows them (the appends are
 * not flushed to the disk: a crash of the host can lose the last ones). Each is kept
 * `DELETION_TOMBSTONE_TTL_MS` from when it was recorded; the file is compacted when opened and
 * when it has grown by `COMPACT_AFTER_LINES` lines. One process per file: replicas that share a
 * Qdrant collection each keep their own (README, "Lifecycle").
 */
export class DeletedAssets {
  private readonly tombstones = new Map<string, Kept>();
  private readonly turns = new Map<string, Promise<void>>();
  private appended = 0;
  /** Appends and compactions, one after another. */
  private writes: Promise<void> = Promise.resolve();

  private constructor(
    private readonly path: string,
    private file: FileHandle,
    private readonly now: () => Date,
  ) {}

  /** Reads the tombstones still in force from `path` (created if missing) and compacts it. */
  static async open(path: string, now: () => Date = () => new Date()): Promise<DeletedAssets> {
    await mkdir(dirname(path), { recursive: true });
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const kept = new Map<string, Kept>();
    for (const line of text.split('\n')) {
      const tombstone = parseLine(line); // a line cut short by a crash is skipped
      if (tombstone) keep(kept, tombstone);
    }
    const live = [...kept.values()].filter((t) => !expiredAt(t, now()));
    const deleted = new DeletedAssets(path, await rewrite(path, live), now);
    for (const t of live) deleted.tombstones.set(t.assetId, t);
    return deleted;
  }

  /** The deletion of `tenant`'s asset that vectors from an ingest requested at `requestedAt` predate, if any. */
  deletedSince(assetId: string, tenant: string, requestedAt: string): Tombstone | undefined {
    const tombstone = this.tombstones.get(assetId);
    if (!tombstone || tombstone.tenant !== tenant || this.expired(tombstone)) return undefined;
    return ingestPredatesDeletion(requestedAt, tombstone.deletedAt) ? tombstone : undefined;
  }

  /** Remembers a deletion (the later one, when an asset was deleted twice); written to the file before it resolves. */
  record(tombstone: Tombstone): Promise<void> {
    const { assetId, tenant, deletedAt } = tombstone;
    const entry: Kept = { assetId, tenant, deletedAt, recordedAt: this.now().toISOString() };
    const write = this.writes.then(async () => {
      // each line starts on its own, even after an append cut short (a full disk, say)
      await this.file.appendFile('\n' + JSON.stringify(entry));
      keep(this.tombstones, entry);
      if (++this.appended >= COMPACT_AFTER_LINES) await this.compact();
    });
    this.writes = write.catch(() => undefined);
    return write;
  }

  /**
   * Runs `work` once every earlier call for the same asset has settled (others side by side):
   * a deletion and an index of one asset one after the other, in call order.
   */
  inTurn<T>(assetId: string, work: () => Promise<T>): Promise<T> {
    const result = (this.turns.get(assetId) ?? Promise.resolve()).then(work);
    const turn = result.then(
      () => undefined,
      () => undefined,
    );
    this.turns.set(assetId, turn);
    void turn.then(() => {
      if (this.turns.get(assetId) === turn) this.turns.delete(assetId);
    });
    return result;
  }

  get size(): number {
    return this.tombstones.size;
  }

  async close(): Promise<void> {
    await this.writes;
    await this.file.close();
  }

  private expired(t: Kept): boolean {
    return expiredAt(t, this.now());
  }

  private async compact(): Promise<void> {
    for (const [id, t] of this.tombstones) if (this.expired(t)) this.tombstones.delete(id);
    const previous = this.file;
    this.file = await rewrite(this.path, [...this.tombstones.values()]);
    this.appended = 0;
    await previous.close();
  }
}

/** Recorded longer ago than the time-to-live, or at a time that does not parse. */
const expiredAt = (t: Kept, now: Date): boolean => !(Date.parse(t.recordedAt) >= now.getTime() - DELETION_TOMBSTONE_TTL_MS);

/** Writes `tombstones` as the whole file (a new file renamed over it) and opens it for appending. */
async function rewrite(path: string, tombstones: Kept[]): Promise<FileHandle> {
  const temp = `${path}.tmp`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(tombstones.map((t) => JSON.stringify(t) + '\n').join(''));
    await handle.sync(); // the renamed file is whole, or the old one stays
  } finally {
    await handle.close();
  }
  await rename(temp, path);
  return open(path, 'a');
}

function keep(map: Map<string, Kept>, t: Kept): void {
  const known = map.get(t.assetId);
  if (!known || !(Date.parse(known.deletedAt) > Date.parse(t.deletedAt))) map.set(t.assetId, t);
}

function parseLine(line: string): Kept | undefined {
  if (!line.trim()) return undefined;
  try {
    const value = JSON.parse(line) as Partial<Kept>;
    if (typeof value.assetId === 'string' && typeof value.tenant === 'string' && typeof value.deletedAt === 'string') {
      // a line without recordedAt counts from the deletion
      const recordedAt = typeof value.recordedAt === 'string' ? value.recordedAt : value.deletedAt;
      return { assetId: value.assetId, tenant: value.tenant, deletedAt: value.deletedAt, recordedAt };
    }
  } catch {
    // cut short or foreign: skipped
  }
  return undefined;
}
