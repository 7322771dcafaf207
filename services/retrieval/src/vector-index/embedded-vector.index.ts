import { checkFilter, checkPayload, checkQuery, normalise } from './vector-index.validation';
import { endianness } from 'node:os';
import { FileHandle, mkdir, open, rm, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { SnapshotReader, SnapshotWriter, readExactly } from './index-snapshot';
import { AppendLog, encodeFrame, floatsOffsetOf, Frame, FrameKind, MAX_FRAME_BYTES, readFrames, writeFileAtomically } from './record-log';
import { RecordSections, RecordTable } from './record-table';
import { MAX_DIMENSION, VectorColumn } from './vector-column';
import {
  DEFAULT_VECTOR_DIMENSIONS,
  IndexedPayload,
  SearchFilter,
  VECTOR_NAMES,
  VectorHit,
  VectorIndex,
  VectorIndexDimensions,
  VectorIndexInputError,
  VectorName,
  VectorQuery,
  VectorRecord,
} from './vector-index.port';

export interface EmbeddedVectorIndexOptions {
  /** Directory holding `snapshot.bin` and `wal.log`; created if missing. */
  dir: string;
  /** Defaults to the persisted dimensions, else 512 (clip) / 384 (caption). */
  dimensions?: VectorIndexDimensions;
  /** fsync the log after every write (default true). Off only for throwaway indexes. */
  syncWrites?: boolean;
  /** Compact once the log exceeds this many bytes and the snapshot's size (default 64 MiB)... */
  compactionMinBytes?: number;
  /**
   * ...or once it exceeds this many bytes whatever the snapshot's size (default 512 MiB, about
   * 180k 512-d vectors): this bounds the log that a start-up replays.
   */
  compactionMaxBytes?: number;
}

/** What `open` found on disk. */
export interface RecoveryReport {
  snapshotRecords: number;
  logFrames: number;
  /** Bytes of a torn or corrupt log tail that were dropped (0 after a clean shutdown). */
  discardedLogBytes: number;
}

interface PreparedRecord {
  id: string;
  payload: IndexedPayload;
  payloadJson: string;
  /** The record's vectors in the order they sit in its log frame. */
  names: VectorName[];
  vectors: Float32Array[];
  /** Their code records (VectorColumn.encode), when known. */
  codes?: Uint8Array[];
}

interface UpsertHeader {
  records: { id: string; payload: IndexedPayload; vectors: VectorName[] }[];
  /** True when the vectors' code records follow the vectors (frames written before lack them). */
  codes?: boolean;
}

interface SnapshotMeta {
  format: number;
  dimensions: VectorIndexDimensions;
  records: number;
  rows: Record<VectorName, number>;
}

const SNAPSHOT_FILE = 'snapshot.bin';
const LOG_FILE = 'wal.log';
/** The log's format (and that of snapshots written before SNAPSHOT_FORMAT, which were logs too). */
const FORMAT_VERSION = 1;
/** 3 lays out the int8 stage's planes and scalars per row; 2 (read, not written) kept them apart. */
const SNAPSHOT_FORMAT = 3;
const READABLE_SNAPSHOT_FORMATS = [2, 3];
const DEFAULT_COMPACTION_MIN_BYTES = 64 * 1024 * 1024;
const DEFAULT_COMPACTION_MAX_BYTES = 512 * 1024 * 1024;
/** File ids of the full-precision rows' locations. */
const SNAPSHOT_ID = 0;
const LOG_ID = 1;
const RECORD_SECTIONS = [
  'ids',
  'idStart',
  'idHash',
  'idSlots',
  'tenantNames',
  'tagNames',
  'tenant',
  'kind',
  'tagStart',
  'tagCodes',
  'payloadStart',
  'payloads',
  'rowClip',
  'rowCaption',
] as const;

/**
 * An in-process vector index with exact cosine search (see VectorColumn), persisted as a
 * snapshot plus an append-only, checksummed write-ahead log. Mutations are serialised and
 * durable (fsync) before their promise resolves; searches read the quantised codes in memory
 * and the few full-precision rows they re-score from the snapshot or log file (page cache).
 *
 * Memory per 512-d vector is ~0.8 KB of codes plus its record's id and payload bytes, against
 * 2 KB for the float32 vector itself; start-up reads the snapshot's sections straight into those
 * arrays (see index-snapshot.ts), then replays the log written since.
 */
export class EmbeddedVectorIndex implements VectorIndex {
  private records = new RecordTable();
  private readonly columns: Record<VectorName, VectorColumn>;
  /** Open read handles by file id: the snapshot and the log, where full-precision rows live. */
  private readonly files: (FileHandle | undefined)[] = [undefined, undefined];
  private writeQueue: Promise<unknown> = Promise.resolve();
  /** Mutations waiting for their group's turn to be written (see `mutate`). */
  private pendingGroup?: { members: { frame: Buffer; apply: (at: number) => void }[]; written: Promise<void> };
  private closed = false;
  private snapshotBytes = 0;
  private log!: AppendLog;

  private constructor(
    private readonly dir: string,
    readonly dimensions: VectorIndexDimensions,
    private readonly syncWrites: boolean,
    private readonly compactionBytes: { min: number; max: number },
    readonly recovery: RecoveryReport,
  ) {
    const files = { fd: (file: number): number => this.handle(file).fd };
    this.columns = { clip: new VectorColumn(dimensions.clip, files), caption: new VectorColumn(dimensions.caption, files) };
  }

  static async open(opts: EmbeddedVectorIndexOptions): Promise<EmbeddedVectorIndex> {
    if (endianness() !== 'LE') throw new Error('EmbeddedVectorIndex stores little-endian floats and needs a little-endian host');
    if (opts.dimensions) checkDimensions(opts.dimensions);
    await mkdir(opts.dir, { recursive: true });
    await rm(join(opts.dir, `${SNAPSHOT_FILE}.tmp`), { force: true });
    await rm(join(opts.dir, `${LOG_FILE}.tmp`), { force: true });

    const snapshotPath = join(opts.dir, SNAPSHOT_FILE);
    const logPath = join(opts.dir, LOG_FILE);
    const snapshot = await openIfExists(() => SnapshotReader.open<SnapshotMeta>(snapshotPath));
    const legacySnapshot = snapshot === 'other';
    const persisted = snapshot === undefined ? undefined : legacySnapshot ? await headerDimensions(snapshotPath) : snapshotDimensions(snapshot);
    const logDimensions = await headerDimensions(logPath);
    if (persisted && logDimensions && !sameDimensions(persisted, logDimensions)) {
      if (snapshot instanceof SnapshotReader) await snapshot.close();
      throw new Error(
        `index at ${opts.dir} is inconsistent: its snapshot holds clip=${persisted.clip}, caption=${persisted.caption} ` +
          `vectors and its log clip=${logDimensions.clip}, caption=${logDimensions.caption}. Restore the directory from backup.`,
      );
    }
    const stored = persisted ?? logDimensions;
    for (const found of [persisted, logDimensions]) {
      if (opts.dimensions && found && !sameDimensions(opts.dimensions, found)) {
        if (snapshot instanceof SnapshotReader) await snapshot.close();
        throw new Error(
          `index at ${opts.dir} holds clip=${found.clip}, caption=${found.caption} vectors; ` +
            `it was opened with clip=${opts.dimensions.clip}, caption=${opts.dimensions.caption}. Open it with the stored ` +
            'dimensions or use another directory.',
        );
      }
    }
    const dimensions = opts.dimensions ?? stored ?? { ...DEFAULT_VECTOR_DIMENSIONS };
    const index = new EmbeddedVectorIndex(
      opts.dir,
      dimensions,
      opts.syncWrites ?? true,
      { min: opts.compactionMinBytes ?? DEFAULT_COMPACTION_MIN_BYTES, max: opts.compactionMaxBytes ?? DEFAULT_COMPACTION_MAX_BYTES },
      { snapshotRecords: 0, logFrames: 0, discardedLogBytes: 0 },
    );
    try {
      if (snapshot instanceof SnapshotReader) {
        await index.loadSnapshot(snapshot);
      } else if (legacySnapshot) {
        index.files[SNAPSHOT_ID] = await open(snapshotPath, 'r');
        await index.replayLegacySnapshot(snapshotPath);
      }
      index.recovery.snapshotRecords = index.records.size;
      await index.replayLog(logPath);
      if (legacySnapshot) await index.compactNow(); // so that the next start loads sections
    } catch (error) {
      await index.closeFiles();
      throw error;
    }
    return index;
  }

  async upsert(records: VectorRecord[]): Promise<void> {
    this.assertOpen();
    if (!Array.isArray(records)) throw new VectorIndexInputError('upsert expects an array of records');
    const prepared = records.map((record, i) => this.prepare(record, i));
    if (prepared.length === 0) return;
    const frame = encodeUpsert(prepared, this.columns);
    if (frame.length > MAX_FRAME_BYTES) {
      throw new VectorIndexInputError(
        `upsert of ${prepared.length} records takes ${frame.length} bytes, over the ` +
          `${MAX_FRAME_BYTES}-byte limit of one log frame: send at most ${Math.floor((prepared.length * MAX_FRAME_BYTES) / frame.length)} records per call`,
      );
    }
    await this.mutate(frame, (at) => this.applyUpsert(prepared, LOG_ID, at + floatsOffsetOf(frame)));
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
    const record = this.records.indexOf(id);
    if (record === undefined) return undefined;
    const vectors: Partial<Record<VectorName, Float32Array>> = {};
    for (const name of VECTOR_NAMES) {
      const row = this.records.row(record, name);
      if (row >= 0) vectors[name] = this.columns[name].vectorAt(row);
    }
    return { id, vectors, payload: this.records.payload(record) };
  }

  async search(query: VectorQuery): Promise<VectorHit[]> {
    this.assertOpen();
    const { using, filter, limit } = query;
    const unit = checkQuery(query, this.dimensions);
    const tenantCode = this.records.tenants.find(filter.tenant);
    if (tenantCode === undefined) return [];
    const accept = this.records.acceptor(filter);
    return this.columns[using]
      .search(unit, tenantCode, accept, limit, (owner) => this.records.idAt(owner))
      .map(({ owner, score }) => ({ id: this.records.idAt(owner), score, payload: this.records.payload(owner) }));
  }

  async count(filter?: Partial<SearchFilter>): Promise<number> {
    this.assertOpen();
    if (filter === undefined) return this.records.size;
    checkFilter(filter, 'filter', false);
    return this.records.countMatching(filter);
  }

  /** Work done by the last search of the `name` vectors, for benchmarks. */
  lastSearchStats(name: VectorName): Readonly<{ matched: number; secondStage: number; exact: number }> {
    return this.columns[name].lastSearch;
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
    await this.closeFiles();
  }

  // --- writes ---------------------------------------------------------------------------------

  /**
   * Appends `frame` to the log, then applies it (given its position); compacts when the log has
   * grown large. Group commit: mutations that arrive while an earlier write is on its way to the
   * disk join one group, written in one go and made durable by one fdatasync before any of them
   * is applied or resolves (in arrival order, as if written one by one).
   */
  private mutate(frame: Buffer, apply: (at: number) => void): Promise<void> {
    let group = this.pendingGroup;
    if (!group) {
      const members: { frame: Buffer; apply: (at: number) => void }[] = [];
      const written = this.enqueue(async () => {
        if (this.pendingGroup?.members === members) this.pendingGroup = undefined; // later mutations start the next group
        let at = this.log.bytes;
        await this.log.append(...members.map((m) => m.frame));
        for (const member of members) {
          member.apply(at);
          at += member.frame.length;
        }
        const { min, max } = this.compactionBytes;
        if (this.log.bytes > Math.max(min, Math.min(max, this.snapshotBytes))) await this.compactNow();
      });
      group = this.pendingGroup = { members, written };
    }
    group.members.push({ frame, apply });
    return group.written;
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    const run = this.writeQueue.then(work);
    this.writeQueue = run.catch(() => undefined);
    return run;
  }

  private async compactNow(): Promise<void> {
    const snapshotPath = join(this.dir, SNAPSHOT_FILE);
    const logPath = join(this.dir, LOG_FILE);
    const writer = await SnapshotWriter.create(snapshotPath);
    let sections: RecordSections;
    let written: Awaited<ReturnType<typeof writer.finish<SnapshotMeta>>>;
    try {
      sections = this.records.toSections();
      for (const name of RECORD_SECTIONS) await writer.section(`records.${name}`, sections[name]);
      for (const name of VECTOR_NAMES) {
        for (const [part, data] of Object.entries(this.columns[name].sections())) await writer.section(`${name}.${part}`, data);
        const readAt = (file: number, into: Uint8Array, offset: number) => readExactly(this.handle(file), into, offset);
        await writer.stream(`${name}.floats`, this.columns[name].fullPrecisionChunks(readAt), false);
      }
      written = await writer.finish<SnapshotMeta>({
        format: SNAPSHOT_FORMAT,
        dimensions: this.dimensions,
        records: this.records.size,
        rows: { clip: this.columns.clip.size, caption: this.columns.caption.size },
      });
    } catch (error) {
      await writer.abort();
      throw error;
    }
    // From here on every row is read from the new snapshot. A crash before the log is replaced
    // replays the old log over the new snapshot: harmless, because every logged operation sets
    // or removes whole records.
    this.snapshotBytes = written.bytes;
    const previous = this.files[SNAPSHOT_ID];
    this.files[SNAPSHOT_ID] = await open(snapshotPath, 'r');
    for (const name of VECTOR_NAMES) this.columns[name].relocate(SNAPSHOT_ID, written.sections[`${name}.floats`].offset);
    this.records.compacted(sections);
    await previous?.close();

    await this.log.close();
    const logBytes = await writeFileAtomically(logPath, [this.headerFrame()]);
    this.log = await AppendLog.open(logPath, logBytes, this.syncWrites);
    const previousLog = this.files[LOG_ID];
    this.files[LOG_ID] = await open(logPath, 'r');
    await previousLog?.close();
  }

  private headerFrame(): Buffer {
    return encodeFrame(FrameKind.Header, { format: FORMAT_VERSION, dimensions: this.dimensions });
  }

  // --- state ----------------------------------------------------------------------------------

  /** Applies upserts whose vectors lie back to back, in order, from `offset` in file `file`. */
  private applyUpsert(records: readonly PreparedRecord[], file: number, offset: number): void {
    let at = offset;
    for (const record of records) {
      this.removeRecord(record.id);
      const r = this.records.add(record.id, record.payload, record.payloadJson);
      const tenantCode = this.records.tenantCode(r);
      record.names.forEach((name, k) => {
        const vector = record.vectors[k];
        this.records.setRow(r, name, this.columns[name].add(vector, tenantCode, r, { file, offset: at }, record.codes?.[k]));
        at += vector.byteLength;
      });
    }
  }

  private applyDelete(ids: readonly string[]): void {
    for (const id of ids) this.removeRecord(id);
  }

  private removeRecord(id: string): void {
    const record = this.records.indexOf(id);
    if (record === undefined) return;
    for (const name of VECTOR_NAMES) {
      const row = this.records.row(record, name);
      if (row < 0) continue;
      const movedOwner = this.columns[name].remove(row);
      if (movedOwner >= 0) this.records.setRow(movedOwner, name, row);
    }
    // The last record moves into the freed slot: its rows must name their new owner.
    if (this.records.remove(record) >= 0) {
      for (const name of VECTOR_NAMES) {
        const row = this.records.row(record, name);
        if (row >= 0) this.columns[name].setOwner(row, record);
      }
    }
  }

  private async loadSnapshot(snapshot: SnapshotReader<SnapshotMeta>): Promise<void> {
    const { meta } = snapshot;
    this.files[SNAPSHOT_ID] = snapshot.file;
    this.snapshotBytes = snapshot.bytes;
    const read = <T extends ArrayBufferView>(name: string, ctor: { new (n: number): T; BYTES_PER_ELEMENT: number }) =>
      snapshot.readArray(`records.${name}`, ctor);
    const sections: RecordSections = {
      ids: await snapshot.readBuffer('records.ids'),
      idStart: await read('idStart', Float64Array),
      idHash: await read('idHash', Int32Array),
      idSlots: await read('idSlots', Int32Array),
      tenantNames: await snapshot.readBuffer('records.tenantNames'),
      tagNames: await snapshot.readBuffer('records.tagNames'),
      tenant: await read('tenant', Int32Array),
      kind: await read('kind', Uint8Array),
      tagStart: await read('tagStart', Int32Array),
      tagCodes: await read('tagCodes', Int32Array),
      payloadStart: await read('payloadStart', Float64Array),
      payloads: await snapshot.readBuffer('records.payloads'),
      rowClip: await read('rowClip', Int32Array),
      rowCaption: await read('rowCaption', Int32Array),
    };
    const n = meta.records;
    const counts = [sections.tenant, sections.kind, sections.idHash, sections.rowClip, sections.rowCaption].map((a) => a.length);
    const slots = sections.idSlots.length;
    if (
      counts.some((c) => c !== n) ||
      [sections.idStart, sections.tagStart, sections.payloadStart].some((a) => a.length !== n + 1) ||
      slots < 2 * n ||
      (slots & (slots - 1)) !== 0
    ) {
      throw new Error(`snapshot ${snapshot.path} is damaged (its record sections disagree on the number of records)`);
    }
    this.records = RecordTable.fromSections(sections);
    for (const name of VECTOR_NAMES) {
      const rows = meta.rows[name];
      const floats = snapshot.section(`${name}.floats`);
      if (floats.length !== rows * this.columns[name].fullPrecisionRowBytes) {
        throw new Error(`snapshot ${snapshot.path} is damaged (section ${name}.floats does not hold ${rows} rows)`);
      }
      await this.columns[name].load(
        rows,
        name,
        snapshot,
        (owner) => this.records.tenantCode(owner),
        SNAPSHOT_ID,
        floats.offset,
        meta.format === 2 ? 'separate-detail' : 'current',
      );
    }
  }

  /** A snapshot of format 1 is a log that starts with a header and ends with SnapshotEnd. */
  private async replayLegacySnapshot(path: string): Promise<void> {
    let first: FrameKind | undefined;
    let last: FrameKind | undefined;
    const read = await readFrames(path, (frame, at) => {
      first ??= frame.kind;
      last = frame.kind;
      if (frame.kind === FrameKind.Upsert) this.applyUpsert(decodeUpsert(frame, this.columns), SNAPSHOT_ID, at + frame.floatsAt);
    });
    if (first !== FrameKind.Header || last !== FrameKind.SnapshotEnd || read.discardedBytes > 0) {
      throw new Error(
        `snapshot ${path} is damaged (it is written to a temporary file and renamed, so this is not ` +
          'a torn write). Restore it from backup, or delete it and wal.log to start an empty index.',
      );
    }
  }

  private async replayLog(logPath: string): Promise<void> {
    let frames = 0;
    let headed = false;
    const read = await openIfExists(() =>
      readFrames(logPath, (frame, at) => {
        if (frames++ === 0) {
          headed = frame.kind === FrameKind.Header;
          return headed;
        }
        this.replayLogFrame(frame, at);
      }),
    );
    let logBytes: number;
    if (read && headed) {
      this.recovery.logFrames = frames - 1;
      this.recovery.discardedLogBytes = read.discardedBytes;
      logBytes = read.validBytes;
      // Cut a torn tail so that new frames follow the last good one.
      if (read.discardedBytes > 0) await truncate(logPath, logBytes);
    } else {
      this.recovery.discardedLogBytes = read ? read.validBytes + read.discardedBytes : 0;
      logBytes = await writeFileAtomically(logPath, [this.headerFrame()]);
    }
    this.log = await AppendLog.open(logPath, logBytes, this.syncWrites);
    this.files[LOG_ID] = await open(logPath, 'r');
  }

  private replayLogFrame(frame: Frame, at: number): void {
    switch (frame.kind) {
      case FrameKind.Upsert:
        this.applyUpsert(decodeUpsert(frame, this.columns), LOG_ID, at + frame.floatsAt);
        return;
      case FrameKind.Delete:
        this.applyDelete((frame.header as { ids: string[] }).ids);
        return;
      case FrameKind.Header:
      case FrameKind.SnapshotEnd:
        return;
    }
  }

  private handle(file: number): FileHandle {
    const handle = this.files[file];
    if (!handle) throw new Error(`vector index at ${this.dir} has no open ${file === SNAPSHOT_ID ? SNAPSHOT_FILE : LOG_FILE}`);
    return handle;
  }

  private async closeFiles(): Promise<void> {
    await this.log?.close();
    for (const [i, file] of this.files.entries()) {
      this.files[i] = undefined;
      await file?.close();
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
    const given: Partial<Record<VectorName, Float32Array>> = {};
    for (const [name, vector] of Object.entries(record.vectors ?? {})) {
      if (!VECTOR_NAMES.includes(name as VectorName)) {
        throw new VectorIndexInputError(`${at}.vectors.${name} is not a known vector; use ${VECTOR_NAMES.join(' or ')}`);
      }
      if (vector === undefined) continue;
      const vectorName = name as VectorName;
      given[vectorName] = normalise(vector, vectorName, this.dimensions[vectorName], `${at}.vectors.${name}`);
    }
    const names = VECTOR_NAMES.filter((name) => given[name] !== undefined);
    return { id: record.id, payload, payloadJson: JSON.stringify(payload), names, vectors: names.map((name) => given[name] as Float32Array) };
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`vector index at ${this.dir} is closed`);
  }
}

/** `undefined` when the file does not exist. */
async function openIfExists<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The dimensions in the header frame that starts a log (or a format-1 snapshot), if any. */
async function headerDimensions(path: string): Promise<VectorIndexDimensions | undefined> {
  let first: Frame | undefined;
  await openIfExists(() =>
    readFrames(path, (frame) => {
      first = frame;
      return false;
    }),
  );
  if (first?.kind !== FrameKind.Header) return undefined;
  const header = first.header as { format: number; dimensions: VectorIndexDimensions };
  if (header.format !== FORMAT_VERSION) {
    throw new Error(`vector index format ${header.format} is not supported (this build reads ${FORMAT_VERSION})`);
  }
  return header.dimensions;
}

function snapshotDimensions(snapshot: SnapshotReader<SnapshotMeta>): VectorIndexDimensions {
  if (!READABLE_SNAPSHOT_FORMATS.includes(snapshot.meta.format)) {
    throw new Error(`vector index snapshot format ${snapshot.meta.format} is not supported (this build reads ${READABLE_SNAPSHOT_FORMATS.join(', ')})`);
  }
  return snapshot.meta.dimensions;
}

/**
 * An upsert frame: a JSON header, the vectors back to back, then their code records, so that a
 * replay copies codes instead of quantising again.
 */
function encodeUpsert(records: readonly PreparedRecord[], columns: Record<VectorName, VectorColumn>): Buffer {
  const header: UpsertHeader = { records: records.map(({ id, payload, names }) => ({ id, payload, vectors: names })), codes: true };
  const vectors = records.flatMap((record) => record.vectors);
  const codeBytes = records.reduce((sum, record) => sum + record.names.reduce((n, name) => n + columns[name].codeRecordBytes, 0), 0);
  const codes = new Uint8Array(codeBytes);
  let at = 0;
  for (const record of records) {
    record.codes = record.names.map((name, k) => {
      const out = codes.subarray(at, at + columns[name].codeRecordBytes);
      columns[name].encode(record.vectors[k], out);
      at += out.length;
      return out;
    });
  }
  return encodeFrame(FrameKind.Upsert, header, [...vectors, new Float32Array(codes.buffer)]);
}

function decodeUpsert(frame: Frame, columns: Record<VectorName, VectorColumn>): PreparedRecord[] {
  const header = frame.header as UpsertHeader;
  const floats = frame.floats;
  let at = 0;
  const records = header.records.map(({ id, payload, vectors: names }): PreparedRecord => {
    const vectors = names.map((name) => {
      const vector = floats.subarray(at, at + columns[name].dimension);
      at += columns[name].dimension;
      return vector;
    });
    return { id, payload, payloadJson: JSON.stringify(payload), names, vectors };
  });
  if (header.codes) {
    let byte = floats.byteOffset + 4 * at;
    for (const record of records) {
      record.codes = record.names.map((name) => {
        const codes = new Uint8Array(floats.buffer, byte, columns[name].codeRecordBytes);
        byte += codes.length;
        return codes;
      });
    }
  }
  return records;
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
