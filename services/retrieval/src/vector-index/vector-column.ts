import { readSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { NibbleRowStore, PLANES, SKIPPED_ROW } from './nibble-dot.kernel';

/**
 * All vectors of one name (e.g. every `clip` vector), stored densely, with an exact top-K search.
 *
 * Search is exact although it reads only 4 bits per dimension for most rows. Each row has its
 * normalised float32 vector v (on disk), 4-bit codes k (v ≈ Δ·(k − 7.5), step Δ picked per row) and int8
 * codes c (v ≈ s·c). For a unit query q with codes qc (q ≈ t·qc) each approximation differs from
 * q·v by at most a stored bound (Cauchy–Schwarz on the residuals, plus a rounding margin):
 *   4-bit: t·Δ·Σ qc·(k − 7.5)  within  err4 + ‖q − t·qc‖·norm4
 *   8-bit: t·s·Σ qc·c          within  err8 + ‖q − t·qc‖·norm8
 * The best `limit` rows by 4-bit score are scored exactly to get a threshold τ; then only rows
 * whose 4-bit upper bound reaches τ get their int8 codes read, and only rows whose 8-bit upper
 * bound still reaches τ are scored exactly. No row that could beat τ is ever skipped.
 * The 4-bit step is chosen per row to minimise err4 (clipping the tails, as Lloyd–Max does),
 * because err4 decides how many rows reach the second stage.
 */

export interface ColumnHit {
  /** The record that owns the row (an index into the record table). */
  owner: number;
  score: number;
}

/** Where full-precision rows are read from: a file id (see RowLocation) to an open descriptor. */
export interface FullPrecisionFiles {
  fd(file: number): number;
}

/** A full-precision row on disk: `dimension` little-endian float32 values at `offset` in `file`. */
export interface RowLocation {
  file: number;
  offset: number;
}

/** What a snapshot stores per column, besides the full-precision rows themselves. */
export const COLUMN_SCALARS = ['scale', 'step4', 'err4', 'norm4', 'err8', 'norm8'] as const;
/** Read for every row by the 4-bit passes: one array each, scanned in order. */
const COARSE_SCALARS = ['step4', 'err4', 'norm4'] as const;
type CoarseScalar = (typeof COARSE_SCALARS)[number];
/** Read for the few int8 candidates, at random: side by side, one cache line per row. */
const DETAIL_SCALARS = ['scale', 'err8', 'norm8'] as const;
const DETAIL_STRIDE = 4;

/** Reads snapshot sections straight into memory that the column owns. */
export interface ColumnSectionReader {
  read(section: string, into: ArrayBufferView): Promise<void>;
}

/** Query codes span ±QUERY_LEVELS: fine enough that the query's own error barely widens bounds. */
const QUERY_LEVELS = 8191;
const ROW_LEVELS = 127;
/** Candidate 4-bit steps, as multiples of the row's RMS; 0.335 is the Lloyd–Max step for Gaussians. */
const COARSE_STEPS = [0.28, 0.335, 0.4, 0.5, 0.65];
/** Covers float32 rounding of the stored scales and bounds. */
const ROUNDING_MARGIN = 1e-5;
export const MAX_DIMENSION = 4096;
const GROWTH = 1.5;

/**
 * The memory of a column is its 4-bit and int8 codes (3 × d/2 bytes a row) and seven numbers a
 * row; the float32 rows (4 × d bytes) stay on disk, in the snapshot or the write-ahead log that
 * holds them anyway, and are read with one positioned read each for the few rows that are
 * scored exactly. Each such read is checked against the row's CRC-32.
 */
export class VectorColumn {
  private rowCount = 0;
  private capacity: number;
  private readonly scalars: Record<CoarseScalar, Float32Array>;
  /** DETAIL_SCALARS of row r at [DETAIL_STRIDE · r, DETAIL_STRIDE · r + 3). */
  private detailScalars: Float32Array;
  private owners: Int32Array;
  private fileOf: Uint8Array;
  private offsetOf: Float64Array;
  private crcOf: Uint32Array;
  private readonly nibbles: NibbleRowStore;
  private readonly codes: Int8Array;
  private readonly coarse: Uint8Array;
  private readonly trialSteps: Float64Array;
  private readonly trialInverses: Float64Array;
  private readonly trialErrors = new Float64Array(COARSE_STEPS.length);
  private readonly trialNorms = new Float64Array(COARSE_STEPS.length);
  private readonly queryCodes: Int16Array;
  private readonly rowFloats: Float32Array;
  private readonly codeScratch: Uint8Array;
  private readonly rowBytes: Uint8Array;
  // Per-search scratch, sized to capacity.
  private approx: Float64Array;
  private candidates: Int32Array;

  constructor(
    readonly dimension: number,
    private readonly files: FullPrecisionFiles,
    initialCapacity = 1024,
  ) {
    if (!Number.isInteger(dimension) || dimension < 1 || dimension > MAX_DIMENSION) {
      throw new RangeError(`vector dimension must be an integer in [1, ${MAX_DIMENSION}], got ${dimension}`);
    }
    this.capacity = Math.max(16, initialCapacity);
    const c = this.capacity;
    this.scalars = Object.fromEntries(COARSE_SCALARS.map((name) => [name, new Float32Array(c)])) as Record<CoarseScalar, Float32Array>;
    this.detailScalars = new Float32Array(DETAIL_STRIDE * c);
    this.owners = new Int32Array(c);
    this.fileOf = new Uint8Array(c);
    this.offsetOf = new Float64Array(c);
    this.crcOf = new Uint32Array(c);
    this.approx = new Float64Array(c);
    this.candidates = new Int32Array(c);
    this.nibbles = new NibbleRowStore(dimension, c);
    this.codes = new Int8Array(dimension);
    this.coarse = new Uint8Array(dimension);
    this.trialSteps = Float64Array.from(COARSE_STEPS, (multiple) => Math.fround(multiple / Math.sqrt(dimension)));
    this.trialInverses = this.trialSteps.map((step) => 1 / step);
    this.queryCodes = new Int16Array(dimension);
    this.rowFloats = new Float32Array(dimension);
    this.rowBytes = new Uint8Array(this.rowFloats.buffer);
    this.codeScratch = new Uint8Array(this.codeRecordBytes);
  }

  /** Work done by the last search, for benchmarks: rows matched and rows that needed int8 codes. */
  lastSearch = { matched: 0, secondStage: 0, exact: 0 };

  get size(): number {
    return this.rowCount;
  }

  /** Bytes of one full-precision row on disk. */
  get fullPrecisionRowBytes(): number {
    return 4 * this.dimension;
  }

  /**
   * Bytes of a row's code record: the COLUMN_SCALARS as float32, then the three nibble planes.
   * The log stores it beside each vector so that a replay need not quantise again.
   */
  get codeRecordBytes(): number {
    return 4 * COLUMN_SCALARS.length + 3 * this.nibbles.rowBytes;
  }

  /** The code record of a unit vector (see codeRecordBytes), written into `out`. */
  encode(unit: Float32Array, out: Uint8Array): void {
    this.quantise(unit, out);
  }

  /**
   * Appends a unit vector, already durable at `location`, with its code record if known;
   * returns its row.
   */
  add(unit: Float32Array, tenantCode: number, owner: number, location: RowLocation, codeRecord?: Uint8Array): number {
    if (this.rowCount === this.capacity) this.grow(Math.ceil(this.capacity * GROWTH));
    const row = this.rowCount++;
    this.owners[row] = owner;
    this.fileOf[row] = location.file;
    this.offsetOf[row] = location.offset;
    this.crcOf[row] = crc32(new Uint8Array(unit.buffer, unit.byteOffset, unit.byteLength));
    let record = codeRecord;
    if (record === undefined) {
      record = this.codeScratch;
      this.quantise(unit, record);
    }
    const scalars = new DataView(record.buffer, record.byteOffset, record.byteLength);
    const scalar = (name: (typeof COLUMN_SCALARS)[number]): number => scalars.getFloat32(4 * COLUMN_SCALARS.indexOf(name), true);
    for (const name of COARSE_SCALARS) this.scalars[name][row] = scalar(name);
    DETAIL_SCALARS.forEach((name, i) => {
      this.detailScalars[DETAIL_STRIDE * row + i] = scalar(name);
    });
    this.nibbles.setRow(row, record.subarray(4 * COLUMN_SCALARS.length), tenantCode);
    return row;
  }

  /** Removes `row` by moving the last row into it; returns the owner that moved, or -1. */
  remove(row: number): number {
    const last = --this.rowCount;
    if (row === last) return -1;
    for (const name of COARSE_SCALARS) this.scalars[name][row] = this.scalars[name][last];
    this.detailScalars.copyWithin(DETAIL_STRIDE * row, DETAIL_STRIDE * last, DETAIL_STRIDE * last + DETAIL_STRIDE);
    for (const arr of [this.owners, this.fileOf, this.offsetOf, this.crcOf]) arr[row] = arr[last];
    this.nibbles.moveRow(last, row);
    return this.owners[row];
  }

  /** The owner of `row` moved to another record index. */
  setOwner(row: number, owner: number): void {
    this.owners[row] = owner;
  }

  /** A copy of the stored unit vector of `row`. */
  vectorAt(row: number): Float32Array {
    return this.readRow(row).slice();
  }

  /**
   * Exact top-`limit` rows of tenant `tenantCode` whose owner `accept` takes (all if null), by
   * cosine with the unit vector `query`, best first, ties broken by ascending `idOf(owner)`.
   */
  search(query: Float32Array, tenantCode: number, accept: ((owner: number) => boolean) | null, limit: number, idOf: (owner: number) => string): ColumnHit[] {
    const n = this.rowCount;
    if (n === 0) return [];
    const { t, queryError, codeSum } = this.quantiseQuery(query);
    const coarse = this.nibbles.scanCoarse(n, tenantCode);
    const { step4, err4, norm4 } = this.scalars;
    const detail = this.detailScalars;
    const owners = this.owners;

    // Pass 1: 4-bit scores of matching rows; the best `limit` of them seed the exact top-K.
    const approx = this.approx;
    const seeds = new TopK<number>(limit, (a, b) => a < b);
    const offset4 = 7.5 * codeSum;
    let matched = 0;
    // Most rows fall below the seeds' floor: test it here rather than in a call per row.
    let floor = -Infinity;
    for (let r = 0; r < n; r++) {
      const k = coarse[r];
      if (k === SKIPPED_ROW || (accept !== null && !accept(owners[r]))) {
        approx[r] = -Infinity;
        continue;
      }
      matched++;
      const a = t * step4[r] * (k - offset4);
      approx[r] = a;
      if (a >= floor) {
        seeds.offer(a, r);
        floor = seeds.threshold();
      }
    }
    if (matched === 0) return [];

    const top = new TopK<number>(limit, (a, b) => idOf(a) > idOf(b));
    let exact = 0;
    for (const { item: r } of seeds.items()) {
      top.offer(this.exactScore(query, r), owners[r]);
      exact++;
      approx[r] = -Infinity; // already exact
    }

    // Pass 2: rows whose 4-bit upper bound reaches τ get their int8 score.
    let threshold = top.threshold();
    let pending = 0;
    const candidates = this.candidates;
    for (let r = 0; r < n; r++) {
      const a = approx[r];
      if (a !== -Infinity && a + err4[r] + queryError * norm4[r] + ROUNDING_MARGIN >= threshold) {
        candidates[pending++] = r;
      }
    }
    if (pending > 0) {
      const { high, low } = this.nibbles.scanDetail(candidates, pending);
      const offset8 = 128 * codeSum;
      for (let j = 0; j < pending; j++) {
        const r = candidates[j];
        const at = DETAIL_STRIDE * r; // scale, err8, norm8
        const a8 = t * detail[at] * (16 * high[j] - offset8 + low[j]);
        if (a8 + detail[at + 1] + queryError * detail[at + 2] + ROUNDING_MARGIN >= threshold) {
          top.offer(this.exactScore(query, r), owners[r]);
          exact++;
          threshold = top.threshold();
        }
      }
    }
    this.lastSearch = { matched, secondStage: pending, exact };
    return top.sorted().map(({ score, item }) => ({ owner: item, score }));
  }

  // --- persistence ----------------------------------------------------------------------------

  /** Per-row sections of a snapshot (views: write them before the column changes). */
  sections(): Record<string, ArrayBufferView> {
    const n = this.rowCount;
    const out: Record<string, ArrayBufferView> = { owner: this.owners.subarray(0, n), crc: this.crcOf.subarray(0, n) };
    for (const name of COARSE_SCALARS) out[name] = this.scalars[name].subarray(0, n);
    out.detailScalars = this.detailScalars.subarray(0, DETAIL_STRIDE * n);
    for (const plane of PLANES) out[plane] = this.nibbles.plane(plane, n);
    return out;
  }

  /**
   * The full-precision rows in row order, read from wherever they are, in chunks of at most
   * `maxBytes`; each row is checked against its CRC-32 on the way.
   */
  async *fullPrecisionChunks(read: (file: number, into: Uint8Array, offset: number) => Promise<void>, maxBytes = 8 << 20): AsyncGenerator<Uint8Array> {
    const rowBytes = this.fullPrecisionRowBytes;
    const perChunk = Math.max(1, Math.floor(maxBytes / rowBytes));
    const chunk = Buffer.allocUnsafe(perChunk * rowBytes);
    for (let from = 0; from < this.rowCount; from += perChunk) {
      const to = Math.min(this.rowCount, from + perChunk);
      // Rows stored back to back in one file are read with one call.
      for (let r = from; r < to;) {
        let end = r + 1;
        while (end < to && this.fileOf[end] === this.fileOf[r] && this.offsetOf[end] === this.offsetOf[end - 1] + rowBytes) end++;
        await read(this.fileOf[r], chunk.subarray((r - from) * rowBytes, (end - from) * rowBytes), this.offsetOf[r]);
        r = end;
      }
      for (let r = from; r < to; r++) {
        if (crc32(chunk.subarray((r - from) * rowBytes, (r - from + 1) * rowBytes)) !== this.crcOf[r]) throw this.damaged(r);
      }
      yield chunk.subarray(0, (to - from) * rowBytes);
    }
  }

  /** After a snapshot: row r is now at `offset + r × rowBytes` in `file`. */
  relocate(file: number, offset: number): void {
    const rowBytes = this.fullPrecisionRowBytes;
    for (let r = 0; r < this.rowCount; r++) {
      this.fileOf[r] = file;
      this.offsetOf[r] = offset + r * rowBytes;
    }
  }

  /**
   * Loads `rows` rows from a snapshot written by `sections`/`fullPrecisionChunks` into this
   * (empty) column; the full-precision rows stay in `file` from `offset` on.
   */
  async load(
    rows: number,
    prefix: string,
    reader: ColumnSectionReader,
    tenantOf: (owner: number) => number,
    file: number,
    offset: number,
    layout: 'current' | 'separate-detail' = 'current',
  ): Promise<void> {
    if (this.rowCount !== 0) throw new Error('load needs an empty column');
    this.grow(rows + Math.max(1024, Math.ceil(rows / 8)));
    await reader.read(`${prefix}.owner`, this.owners.subarray(0, rows));
    await reader.read(`${prefix}.crc`, this.crcOf.subarray(0, rows));
    for (const name of COARSE_SCALARS) await reader.read(`${prefix}.${name}`, this.scalars[name].subarray(0, rows));
    if (layout === 'current') {
      await reader.read(`${prefix}.detailScalars`, this.detailScalars.subarray(0, DETAIL_STRIDE * rows));
      for (const plane of PLANES) await reader.read(`${prefix}.${plane}`, this.nibbles.plane(plane, rows));
    } else {
      // Snapshots of format 2 kept each detail scalar and the high and low planes apart.
      for (const [i, name] of DETAIL_SCALARS.entries()) {
        const values = new Float32Array(rows);
        await reader.read(`${prefix}.${name}`, values);
        for (let r = 0; r < rows; r++) this.detailScalars[DETAIL_STRIDE * r + i] = values[r];
      }
      await reader.read(`${prefix}.coarse`, this.nibbles.plane('coarse', rows));
      const rowBytes = this.nibbles.rowBytes;
      const detail = this.nibbles.plane('detail', rows);
      for (const [half, plane] of (['high', 'low'] as const).entries()) {
        const bytes = new Uint8Array(rows * rowBytes);
        await reader.read(`${prefix}.${plane}`, bytes);
        for (let r = 0; r < rows; r++) detail.set(bytes.subarray(r * rowBytes, (r + 1) * rowBytes), (2 * r + half) * rowBytes);
      }
    }
    const tenants = this.nibbles.tenantCodes(rows);
    for (let r = 0; r < rows; r++) tenants[r] = tenantOf(this.owners[r]);
    this.rowCount = rows;
    this.relocate(file, offset);
  }

  private readRow(row: number): Float32Array {
    const bytes = this.rowBytes;
    const fd = this.files.fd(this.fileOf[row]);
    const offset = this.offsetOf[row];
    let done = 0;
    while (done < bytes.length) {
      const n = readSync(fd, bytes, done, bytes.length - done, offset + done);
      if (n === 0) throw this.damaged(row);
      done += n;
    }
    if (crc32(bytes) !== this.crcOf[row]) throw this.damaged(row);
    return this.rowFloats;
  }

  private damaged(row: number): Error {
    return new Error(
      `the stored vector of row ${row} (file ${this.fileOf[row]}, offset ${this.offsetOf[row]}) is damaged: ` +
        'its checksum does not match. Restore the index directory from backup or re-index the assets.',
    );
  }

  private exactScore(query: Float32Array, row: number): number {
    const f = this.readRow(row);
    const d = this.dimension;
    let s0 = 0,
      s1 = 0,
      s2 = 0,
      s3 = 0;
    let i = 0;
    for (; i + 3 < d; i += 4) {
      s0 += query[i] * f[i];
      s1 += query[i + 1] * f[i + 1];
      s2 += query[i + 2] * f[i + 2];
      s3 += query[i + 3] * f[i + 3];
    }
    for (; i < d; i++) s0 += query[i] * f[i];
    return s0 + s1 + s2 + s3;
  }

  private quantise(unit: Float32Array, out: Uint8Array): void {
    const d = this.dimension;
    const codes = this.codes;
    let maxAbs = 0;
    for (let i = 0; i < d; i++) maxAbs = Math.max(maxAbs, Math.abs(unit[i]));
    const s = Math.fround(maxAbs / ROW_LEVELS);
    const inverse8 = 1 / s;
    let e8 = 0,
      n8 = 0;
    for (let i = 0; i < d; i++) {
      const code = Math.max(-ROW_LEVELS, Math.min(ROW_LEVELS, Math.round(unit[i] * inverse8)));
      codes[i] = code;
      const v8 = s * code;
      e8 += (unit[i] - v8) * (unit[i] - v8);
      n8 += v8 * v8;
    }
    // The errors of every candidate 4-bit step in one pass over the row (this runs for every
    // upsert and every replayed log record, so it avoids allocations and repeated passes).
    // Padding dimensions carry coarse code 0, i.e. -7.5 steps; the kernel's zero query entries
    // there make them contribute nothing, so no correction is needed.
    const steps = this.trialSteps;
    const inverses = this.trialInverses;
    const errors = this.trialErrors;
    const norms = this.trialNorms;
    errors.fill(0);
    norms.fill(0);
    for (let i = 0; i < d; i++) {
      const u = unit[i];
      for (let j = 0; j < steps.length; j++) {
        const v4 = steps[j] * (coarseCode(u, inverses[j]) - 7.5);
        errors[j] += (u - v4) * (u - v4);
        norms[j] += v4 * v4;
      }
    }
    let best = 0;
    for (let j = 1; j < steps.length; j++) if (errors[j] < errors[best]) best = j;
    const step = steps[best];
    const inverse = inverses[best];
    const coarse = this.coarse;
    for (let i = 0; i < d; i++) coarse[i] = coarseCode(unit[i], inverse);
    // In COLUMN_SCALARS order. Bounds are rounded up so that float32 storage never makes them
    // smaller than the true value.
    const scalars = new DataView(out.buffer, out.byteOffset, 4 * COLUMN_SCALARS.length);
    const values = [s, step, roundUp(Math.sqrt(errors[best])), roundUp(Math.sqrt(norms[best])), roundUp(Math.sqrt(e8)), roundUp(Math.sqrt(n8))];
    for (let i = 0; i < values.length; i++) scalars.setFloat32(4 * i, values[i], true);
    this.nibbles.packRow(coarse, codes, out.subarray(4 * COLUMN_SCALARS.length));
  }

  private quantiseQuery(query: Float32Array): { t: number; queryError: number; codeSum: number } {
    let maxAbs = 0;
    for (let i = 0; i < query.length; i++) maxAbs = Math.max(maxAbs, Math.abs(query[i]));
    const t = maxAbs / QUERY_LEVELS;
    let err = 0,
      codeSum = 0;
    for (let i = 0; i < query.length; i++) {
      const code = Math.round(query[i] / t);
      this.queryCodes[i] = code;
      codeSum += code;
      err += (query[i] - t * code) ** 2;
    }
    this.nibbles.setQuery(this.queryCodes);
    return { t, queryError: Math.sqrt(err), codeSum };
  }

  private grow(capacity: number): void {
    const widen = <T extends Float32Array | Int32Array | Uint8Array | Float64Array | Uint32Array>(old: T): T => {
      const next = new (old.constructor as new (n: number) => T)(capacity);
      next.set(old.subarray(0, this.rowCount));
      return next;
    };
    for (const name of COARSE_SCALARS) this.scalars[name] = widen(this.scalars[name]);
    const detail = new Float32Array(DETAIL_STRIDE * capacity);
    detail.set(this.detailScalars.subarray(0, DETAIL_STRIDE * this.rowCount));
    this.detailScalars = detail;
    this.owners = widen(this.owners);
    this.fileOf = widen(this.fileOf);
    this.offsetOf = widen(this.offsetOf);
    this.crcOf = widen(this.crcOf);
    this.approx = new Float64Array(capacity);
    this.candidates = new Int32Array(capacity);
    this.nibbles.ensureCapacity(capacity, this.rowCount);
    this.capacity = capacity;
  }
}

/**
 * The 4-bit code of `u` for a step of 1 / `inverse`: v ≈ step · (code − 7.5), code in [0, 15].
 * Truncation equals floor wherever the result is not clamped to 0 (|u| ≤ 1, so no overflow).
 */
function coarseCode(u: number, inverse: number): number {
  return Math.max(0, Math.min(15, (u * inverse + 8) | 0));
}

function roundUp(x: number): number {
  const f = Math.fround(x);
  return f >= x ? f : f * (1 + 2 ** -23);
}

/** Keeps the best `k` items by score (higher is better); `worse(a, b)` breaks score ties. */
class TopK<T> {
  private readonly heap: { score: number; item: T }[] = [];

  constructor(
    private readonly k: number,
    private readonly tieWorse: (a: T, b: T) => boolean,
  ) {}

  /** Lowest score still in the top-K once it is full; -Infinity before. */
  threshold(): number {
    return this.heap.length < this.k ? -Infinity : this.heap[0].score;
  }

  offer(score: number, item: T): void {
    const heap = this.heap;
    if (heap.length < this.k) {
      heap.push({ score, item });
      this.siftUp(heap.length - 1);
    } else {
      const root = heap[0];
      // Compared inline: this runs once per scanned row and must not allocate.
      if (score < root.score || (score === root.score && !this.tieWorse(root.item, item))) return;
      heap[0] = { score, item };
      this.siftDown(0);
    }
  }

  items(): { score: number; item: T }[] {
    return [...this.heap];
  }

  sorted(): { score: number; item: T }[] {
    return [...this.heap].sort((a, b) => (this.isWorse(a, b) ? 1 : this.isWorse(b, a) ? -1 : 0));
  }

  private isWorse(a: { score: number; item: T }, b: { score: number; item: T }): boolean {
    return a.score < b.score || (a.score === b.score && this.tieWorse(a.item, b.item));
  }

  private siftUp(i: number): void {
    const heap = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.isWorse(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let worst = i;
      if (left < heap.length && this.isWorse(heap[left], heap[worst])) worst = left;
      if (right < heap.length && this.isWorse(heap[right], heap[worst])) worst = right;
      if (worst === i) return;
      [heap[i], heap[worst]] = [heap[worst], heap[i]];
      i = worst;
    }
  }
}
