import { mkdir, open, readFile, rename, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DELETION_TOMBSTONE_TTL_MS, ingestPredatesDeletion } from '@adseed/contracts';

/** What the retrieval service remembers of a deletion. */
export interface Tombstone {
  assetId: string;
  tenant: string;
  deletedAt: string;
}

/**
 * The assets deleted recently (tombstones), and one turn per asset for the work that reads and
 * writes its record. An `asset.embedded` of an ingest requested before the deletion must not
 * index the asset again (see `ingestPredatesDeletion`); the two topics are consumed side by side,
 * so a deletion and an index of one asset also take turns, or an index could read "no
 * tombstone", the deletion find nothing to drop, and the index then write the record.
 *
 * Tombstones are appended to a JSON-lines file (one per data folder) so a restart, which
 * re-delivers the events not yet committed, still knows them; kept `DELETION_TOMBSTONE_TTL_MS`,
 * then dropped (the file is compacted when opened). One process per file: replicas that share a
 * Qdrant collection each keep their own (README, "Lifecycle").
 */
export class DeletedAssets {
  private readonly tombstones = new Map<string, Tombstone>();
  private readonly turns = new Map<string, Promise<void>>();
  private sizeAtLastPrune = 0;

  private constructor(
    private readonly file: FileHandle,
    private readonly now: () => Date,
  ) {}

  /** Reads the tombstones still in force from `path` (created if missing) and compacts it. */
  static async open(path: string, now: () => Date = () => new Date()): Promise<DeletedAssets> {
    await mkdir(dirname(path), { recursive: true });
    const kept = new Map<string, Tombstone>();
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const cutoff = now().getTime() - DELETION_TOMBSTONE_TTL_MS;
    for (const line of text.split('\n')) {
      const tombstone = parseLine(line); // a line cut short by a crash is skipped
      if (tombstone && !(Date.parse(tombstone.deletedAt) < cutoff)) keep(kept, tombstone);
    }
    const temp = `${path}.tmp`;
    await writeFile(temp, [...kept.values()].map((t) => JSON.stringify(t) + '\n').join(''));
    await rename(temp, path);
    const deleted = new DeletedAssets(await open(path, 'a'), now);
    for (const [id, t] of kept) deleted.tombstones.set(id, t);
    deleted.sizeAtLastPrune = kept.size;
    return deleted;
  }

  /** Whether vectors of `tenant`'s asset from an ingest requested at `requestedAt` were deleted since. */
  deletedSince(assetId: string, tenant: string, requestedAt: string): Tombstone | undefined {
    const tombstone = this.tombstones.get(assetId);
    if (!tombstone || tombstone.tenant !== tenant || this.expired(tombstone)) return undefined;
    return ingestPredatesDeletion(requestedAt, tombstone.deletedAt) ? tombstone : undefined;
  }

  /** Remembers a deletion (the later one, when an asset was deleted twice), on disk before it resolves. */
  async record(tombstone: Tombstone): Promise<void> {
    const { assetId, tenant, deletedAt } = tombstone;
    const entry = { assetId, tenant, deletedAt };
    await this.file.appendFile(JSON.stringify(entry) + '\n');
    keep(this.tombstones, entry);
    if (this.tombstones.size >= 2 * this.sizeAtLastPrune + 1024) this.prune();
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
    await this.file.close();
  }

  private expired(t: Tombstone): boolean {
    return Date.parse(t.deletedAt) < this.now().getTime() - DELETION_TOMBSTONE_TTL_MS;
  }

  private prune(): void {
    for (const [id, t] of this.tombstones) if (this.expired(t)) this.tombstones.delete(id);
    this.sizeAtLastPrune = this.tombstones.size;
  }
}

function keep(map: Map<string, Tombstone>, t: Tombstone): void {
  const known = map.get(t.assetId);
  if (!known || !(Date.parse(known.deletedAt) > Date.parse(t.deletedAt))) map.set(t.assetId, t);
}

function parseLine(line: string): Tombstone | undefined {
  if (!line.trim()) return undefined;
  try {
    const value = JSON.parse(line) as Partial<Tombstone>;
    if (typeof value.assetId === 'string' && typeof value.tenant === 'string' && typeof value.deletedAt === 'string') {
      return { assetId: value.assetId, tenant: value.tenant, deletedAt: value.deletedAt };
    }
  } catch {
    // cut short or foreign: skipped
  }
  return undefined;
}
