import { checkFilter, checkPayload, checkQuery, normalise } from './vector-index.validation';
import { endianness } from 'node:os';
import { mkdir, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { AppendLog, encodeFrame, Frame, FrameKind, readFrames, writeFileAtomically } from './record-log';
import { MAX_DIMENSION, VectorColumn } from './vector-column';
import {
  AssetKind, DEFAULT_VECTOR_DIMENSIONS, IndexedPayload, SearchFilter, VECTOR_NAMES,
  VectorHit, VectorIndex, VectorIndexDimensions, VectorIndexInputError, VectorName, VectorQuery, VectorRecord,
} from './vector-index.port';

export interface EmbeddedVectorIndexOptions {
  /** Directory holding `snapshot.bin` and `wal.log`; created if missing. */
  dir: string;
  /** Defaults to the persisted dimensions, else 512 (clip) / 384 (caption). */
  dimensions?: VectorIndexDimensions;
  /** fsync the log after every write (default true). Off only for throwaway indexes. */
  syncWrites?: boolean;
  /** Compact once the log exceeds this many bytes and the snapshot's size (default 64 MiB). */
  compactionMinBytes?: number;
}

/** What `open` found on disk. */
export interface RecoveryReport {
  snapshotRecords: number;
  logFrames: number;
  /** Bytes of a torn or corrupt log tail that were dropped (0 after a clean shutdown). */
  discardedLogBytes: number;
}

interface StoredRecord {
  readonly id: string;
  readonly payload: IndexedPayload;
  readonly tags: ReadonlySet<string>;
  readonly kind: AssetKind;
  readonly tenantCode: number;
  /** Row per vector name, -1 when the record has no such vector. */
  readonly rows: Record<VectorName, number>;
}

interface PreparedRecord {
  id: string;
  payload: IndexedPayload;
  vectors: Partial<Record<VectorName, Float32Array>>;
}

interface UpsertHeader {
  records: { id: string; payload: IndexedPayload; vectors: VectorName[] }[];
}

const SNAPSHOT_FILE = 'snapshot.bin';
const LOG_FILE = 'wal.log';
const FORMAT_VERSION = 1;
const SNAPSHOT_CHUNK_RECORDS = 1024;
const DEFAULT_COMPACTION_MIN_BYTES = 64 * 1024 * 1024;

/**
 * An in-process vector index with exact cosine search (see VectorColumn), persisted as a
 * snapshot plus an append-only, checksummed write-ahead log. Mutations are serialised and
 * durable (fsync) before their promise resolves; searches read memory only.
 */
export class EmbeddedVectorIndex implements VectorIndex {
  private readonly records = new Map<string, StoredRecord>();
  private readonly tenantCodes = new Map<string, number>();
  private readonly columns: Record<VectorName, VectorColumn<StoredRecord>>;
  private writeQueue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private snapshotBytes = 0;
  private log!: AppendLog;

  private constructor(
    private readonly dir: string,
    readonly dimensions: VectorIndexDimensions,
    private readonly syncWrites: boolean,
    private readonly compactionMinBytes: number,
    readonly recovery: RecoveryReport,
  ) {
    this.columns = { clip: new VectorColumn(dimensions.clip), caption: new VectorColumn(dimensions.caption) };
  }

  static async open(opts: EmbeddedVectorIndexOptions): Promise<EmbeddedVectorIndex> {
    if (endianness() !== 'LE') throw new Error('EmbeddedVectorIndex stores little-endian floats and needs a little-endian host');
    if (opts.dimensions) checkDimensions(opts.dimensions);
    await mkdir(opts.dir, { recursive: true });
    await rm(join(opts.dir, `${SNAPSHOT_FILE}.tmp`), { force: true });
    await rm(join(opts.dir, `${LOG_FILE}.tmp`), { force: true });

    const snapshotPath = join(opts.dir, SNAPSHOT_FILE);
    const logPath = join(opts.dir, LOG_FILE);
    const snapshotFrames = await readAllFrames(snapshotPath);
    const logFrames = await readAllFrames(logPath);
    const persisted = persistedDimensions(snapshotFrames?.frames[0]) ?? persistedDimensions(logFrames?.frames[0]);
    if (opts.dimensions && persisted && !sameDimensions(opts.dimensions, persisted)) {
      throw new Error(`index at ${opts.dir} holds clip=${persisted.clip}, caption=${persisted.caption} vectors; ` +
        `it was opened with clip=${opts.dimensions.clip}, caption=${opts.dimensions.caption}. Open it with the stored ` +
        'dimensions or use another directory.');
    }
    const dimensions = opts.dimensions ?? persisted ?? { ...DEFAULT_VECTOR_DIMENSIONS };
    const index = new EmbeddedVectorIndex(opts.dir, dimensions, opts.syncWrites ?? true,
      opts.compactionMinBytes ?? DEFAULT_COMPACTION_MIN_BYTES,
      { snapshotRecords: 0, logFrames: 0, discardedLogBytes: 0 });

    if (snapshotFrames) {
      index.recovery.snapshotRecords = index.replaySnapshot(snapshotPath, snapshotFrames);
      index.snapshotBytes = (await stat(snapshotPath)).size;
    }
    let logBytes = 0;
    if (logFrames && logFrames.frames[0]?.kind === FrameKind.Header) {
      for (const frame of logFrames.frames.slice(1)) index.replayLogFrame(frame);
      index.recovery.logFrames = logFrames.frames.length - 1;
      index.recovery.discardedLogBytes = logFrames.discardedBytes;
      logBytes = logFrames.validBytes;
      // Cut a torn tail so that new frames follow the last good one.
      if (logFrames.discardedBytes > 0) await truncate(logPath, logBytes);
    } else {
      index.recovery.discardedLogBytes = logFrames?.discardedBytes ?? 0;
      logBytes = await writeFileAtomically(logPath, [index.headerFrame()]);
    }
    index.log = await AppendLog.open(logPath, logBytes, index.syncWrites);
    return index;
  }

  async upsert(records: VectorRecord[]): Promise<void> {
    this.assertOpen();
    if (!Array.isArray(records)) throw new VectorIndexInputError('upsert expects an array of records');
    const prepared = records.map((record, i) => this.prepare(record, i));
    if (prepared.length === 0) return;
    await this.mutate(encodeUpsert(prepared), () => this.applyUpsert(prepared));
  }

  async delete(ids: string[]): Promise<void> {
    this.assertOpen();
    if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')) {
      throw new VectorIndexInputError('delete expects an array of string ids');
    }
    if (ids.length === 0) return;
    await this.mutate(encodeFrame(FrameKind.Delete, { ids }), () => this.applyDelete(ids));
  }

  async get(id: string): Promise<VectorRecord | undefined> {
    this.assertOpen();
    const record = this.records.get(id);
    if (!record) return undefined;
    const vectors: Partial<Record<VectorName, Float32Array>> = {};
    for (const name of VECTOR_NAMES) {
      if (record.rows[name] >= 0) vectors[name] = this.columns[name].vectorAt(record.rows[name]);
    }
    return { id, vectors, payload: structuredClone(record.payload) };
  }

  async search(query: VectorQuery): Promise<VectorHit[]> {
    this.assertOpen();
    const { using, filter, limit } = query;
    const unit = checkQuery(query, this.dimensions);
    const tenantCode = this.tenantCodes.get(filter.tenant);
    if (tenantCode === undefined) return [];
    const accept = acceptor(filter);
    return this.columns[using].search(unit, tenantCode, accept, limit)
      .map(({ owner, score }) => ({ id: owner.id, score, payload: structuredClone(owner.payload) }));
  }

  async count(filter?: Partial<SearchFilter>): Promise<number> {
    this.assertOpen();
    if (filter === undefined) return this.records.size;
    checkFilter(filter, 'filter', false);
    const accept = acceptor(filter);
    let n = 0;
    for (const record of this.records.values()) {
      if ((filter.tenant === undefined || record.payload.tenant === filter.tenant) && (accept === null || accept(record))) n++;
    }
    return n;
  }

  /** Writes a snapshot of the current state and starts a fresh log. */
  async compact(): Promise<void> {
    this.assertOpen();
    await this.enqueue(() => this.compactNow());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writeQueue.catch(() => undefined);
    await this.log.close();
  }

  // --- writes ---------------------------------------------------------------------------------

  /** Appends `frame` to the log, then applies it; compacts when the log has grown large. */
  private mutate(frame: Buffer, apply: () => void): Promise<void> {
    return this.enqueue(async () => {
      await this.log.append(frame);
      apply();
      if (this.log.bytes > Math.max(this.compactionMinBytes, this.snapshotBytes)) await this.compactNow();
    });
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    const run = this.writeQueue.then(work);
    this.writeQueue = run.catch(() => undefined);
    return run;
  }

  private async compactNow(): Promise<void> {
    const snapshotPath = join(this.dir, SNAPSHOT_FILE);
    const logPath = join(this.dir, LOG_FILE);
    this.snapshotBytes = await writeFileAtomically(snapshotPath, this.snapshotFrames());
    // A crash between the two renames replays the old log over the new snapshot: harmless,
    // because every logged operation sets or removes whole records.
    await this.log.close();
    const logBytes = await writeFileAtomically(logPath, [this.headerFrame()]);
    this.log = await AppendLog.open(logPath, logBytes, this.syncWrites);
  }

  private *snapshotFrames(): Generator<Buffer> {
    yield this.headerFrame();
    let chunk: PreparedRecord[] = [];
    for (const record of this.records.values()) {
      const vectors: Partial<Record<VectorName, Float32Array>> = {};
      for (const name of VECTOR_NAMES) {
        if (record.rows[name] >= 0) vectors[name] = this.columns[name].vectorAt(record.rows[name]);
      }
      chunk.push({ id: record.id, payload: record.payload, vectors });
      if (chunk.length === SNAPSHOT_CHUNK_RECORDS) {
        yield encodeUpsert(chunk);
        chunk = [];
      }
    }
    if (chunk.length > 0) yield encodeUpsert(chunk);
    yield encodeFrame(FrameKind.SnapshotEnd, { records: this.records.size });
  }

  private headerFrame(): Buffer {
    return encodeFrame(FrameKind.Header, { format: FORMAT_VERSION, dimensions: this.dimensions });
  }

  // --- state ----------------------------------------------------------------------------------

  private applyUpsert(records: PreparedRecord[]): void {
    for (const record of records) {
      this.removeRecord(record.id);
      const tenantCode = this.tenantCode(record.payload.tenant);
      const rows: Record<VectorName, number> = { clip: -1, caption: -1 };
      const stored: StoredRecord = {
        id: record.id, payload: record.payload, tags: new Set(record.payload.tags), kind: record.payload.kind,
        tenantCode, rows,
      };
      for (const name of VECTOR_NAMES) {
        const vector = record.vectors[name];
        if (vector) rows[name] = this.columns[name].add(vector, tenantCode, stored);
      }
      this.records.set(record.id, stored);
    }
  }

  private applyDelete(ids: readonly string[]): void {
    for (const id of ids) this.removeRecord(id);
  }

  private removeRecord(id: string): void {
    const record = this.records.get(id);
    if (!record) return;
    for (const name of VECTOR_NAMES) {
      const row = record.rows[name];
      if (row < 0) continue;
      const moved = this.columns[name].remove(row);
      if (moved) moved.rows[name] = row;
    }
    this.records.delete(id);
  }

  private tenantCode(tenant: string): number {
    let code = this.tenantCodes.get(tenant);
    if (code === undefined) {
      code = this.tenantCodes.size + 1;
      this.tenantCodes.set(tenant, code);
    }
    return code;
  }

  private replaySnapshot(path: string, read: FramesRead): number {
    const [header, ...rest] = read.frames;
    const end = rest.pop();
    if (header?.kind !== FrameKind.Header || end?.kind !== FrameKind.SnapshotEnd || read.discardedBytes > 0) {
      throw new Error(`snapshot ${path} is damaged (it is written to a temporary file and renamed, so this is not ` +
        'a torn write). Restore it from backup, or delete it and wal.log to start an empty index.');
    }
    for (const frame of rest) this.applyUpsert(decodeUpsert(frame, this.dimensions));
    return this.records.size;
  }

  private replayLogFrame(frame: Frame): void {
    switch (frame.kind) {
      case FrameKind.Upsert:
        this.applyUpsert(decodeUpsert(frame, this.dimensions));
        return;
      case FrameKind.Delete:
        this.applyDelete((frame.header as { ids: string[] }).ids);
        return;
      case FrameKind.Header:
      case FrameKind.SnapshotEnd:
        return;
    }
  }

  // --- validation -----------------------------------------------------------------------------

  private prepare(record: VectorRecord, i: number): PreparedRecord {
    const at = `records[${i}]`;
    if (typeof record !== 'object' || record === null) throw new VectorIndexInputError(`${at} must be an object`);
    if (typeof record.id !== 'string' || record.id.length === 0) {
      throw new VectorIndexInputError(`${at}.id must be a non-empty string`);
    }
    const payload = checkPayload(record.payload, `${at}.payload`);
    const vectors: Partial<Record<VectorName, Float32Array>> = {};
    for (const [name, vector] of Object.entries(record.vectors ?? {})) {
      if (!VECTOR_NAMES.includes(name as VectorName)) {
        throw new VectorIndexInputError(`${at}.vectors.${name} is not a known vector; use ${VECTOR_NAMES.join(' or ')}`);
      }
      if (vector === undefined) continue;
      const vectorName = name as VectorName;
      vectors[vectorName] = normalise(vector, vectorName, this.dimensions[vectorName], `${at}.vectors.${name}`);
    }
    return { id: record.id, payload, vectors };
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`vector index at ${this.dir} is closed`);
  }
}

interface FramesRead {
  frames: Frame[];
  validBytes: number;
  discardedBytes: number;
}

async function readAllFrames(path: string): Promise<FramesRead | undefined> {
  const frames: Frame[] = [];
  try {
    const result = await readFrames(path, (frame) => frames.push(frame));
    return { frames, ...result };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function persistedDimensions(frame: Frame | undefined): VectorIndexDimensions | undefined {
  if (frame?.kind !== FrameKind.Header) return undefined;
  const header = frame.header as { format: number; dimensions: VectorIndexDimensions };
  if (header.format !== FORMAT_VERSION) {
    throw new Error(`vector index format ${header.format} is not supported (this build reads ${FORMAT_VERSION})`);
  }
  return header.dimensions;
}

function encodeUpsert(records: readonly PreparedRecord[]): Buffer {
  const header: UpsertHeader = { records: [] };
  const floats: Float32Array[] = [];
  for (const record of records) {
    const names = VECTOR_NAMES.filter((name) => record.vectors[name] !== undefined);
    header.records.push({ id: record.id, payload: record.payload, vectors: names });
    for (const name of names) floats.push(record.vectors[name] as Float32Array);
  }
  return encodeFrame(FrameKind.Upsert, header, floats);
}

function decodeUpsert(frame: Frame, dimensions: VectorIndexDimensions): PreparedRecord[] {
  const header = frame.header as UpsertHeader;
  let at = 0;
  return header.records.map(({ id, payload, vectors: names }) => {
    const vectors: Partial<Record<VectorName, Float32Array>> = {};
    for (const name of names) {
      vectors[name] = frame.floats.subarray(at, at + dimensions[name]);
      at += dimensions[name];
    }
    return { id, payload, vectors };
  });
}

function checkDimensions(dimensions: VectorIndexDimensions): void {
  for (const name of VECTOR_NAMES) {
    const d = dimensions[name];
    if (!Number.isInteger(d) || d < 1 || d > MAX_DIMENSION) {
      throw new VectorIndexInputError(`dimensions.${name} must be an integer in [1, ${MAX_DIMENSION}], got ${String(d)}`);
    }
  }
}

function sameDimensions(a: VectorIndexDimensions, b: VectorIndexDimensions): boolean {
  return VECTOR_NAMES.every((name) => a[name] === b[name]);
}




/** The non-tenant part of a filter as a predicate, or null when it accepts everything. */
function acceptor(filter: Partial<SearchFilter>): ((record: StoredRecord) => boolean) | null {
  const { kind } = filter;
  const tags = filter.tagsAll ?? [];
  if (kind === undefined && tags.length === 0) return null;
  return (record) => (kind === undefined || record.kind === kind) && tags.every((tag) => record.tags.has(tag));
}
