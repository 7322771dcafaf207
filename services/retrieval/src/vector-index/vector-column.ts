import { NibbleRowStore, SKIPPED_ROW } from './nibble-dot.kernel';

/**
 * All vectors of one name (e.g. every `clip` vector), stored densely, with an exact top-K search.
 *
 * Search is exact although it reads only 4 bits per dimension for most rows. Each row keeps its
 * normalised float32 vector v, 4-bit codes k (v ≈ Δ·(k − 7.5), step Δ picked per row) and int8
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

export interface ColumnOwner {
  readonly id: string;
}

export interface ColumnHit<O extends ColumnOwner> {
  owner: O;
  score: number;
}

/** Query codes span ±QUERY_LEVELS: fine enough that the query's own error barely widens bounds. */
const QUERY_LEVELS = 8191;
const ROW_LEVELS = 127;
/** Candidate 4-bit steps, as multiples of the row's RMS; 0.335 is the Lloyd–Max step for Gaussians. */
const COARSE_STEPS = [0.28, 0.335, 0.4, 0.5, 0.65];
/** Covers float32 rounding of the stored scales and bounds. */
const ROUNDING_MARGIN = 1e-5;
export const MAX_DIMENSION = 4096;

export class VectorColumn<O extends ColumnOwner> {
  private rowCount = 0;
  private capacity: number;
  private floats: Float32Array;
  private scale: Float32Array;
  private step4: Float32Array;
  private err4: Float32Array;
  private norm4: Float32Array;
  private err8: Float32Array;
  private norm8: Float32Array;
  private owners: O[] = [];
  private readonly nibbles: NibbleRowStore;
  private readonly codes: Int8Array;
  private readonly coarse: Uint8Array;
  private readonly coarseTrial: Uint8Array;
  private readonly queryCodes: Int16Array;
  // Per-search scratch, sized to capacity.
  private approx: Float64Array;
  private candidates: Int32Array;

  constructor(readonly dimension: number, initialCapacity = 1024) {
    if (!Number.isInteger(dimension) || dimension < 1 || dimension > MAX_DIMENSION) {
      throw new RangeError(`vector dimension must be an integer in [1, ${MAX_DIMENSION}], got ${dimension}`);
    }
    this.capacity = initialCapacity;
    this.floats = new Float32Array(initialCapacity * dimension);
    this.scale = new Float32Array(initialCapacity);
    this.step4 = new Float32Array(initialCapacity);
    this.err4 = new Float32Array(initialCapacity);
    this.norm4 = new Float32Array(initialCapacity);
    this.err8 = new Float32Array(initialCapacity);
    this.norm8 = new Float32Array(initialCapacity);
    this.approx = new Float64Array(initialCapacity);
    this.candidates = new Int32Array(initialCapacity);
    this.nibbles = new NibbleRowStore(dimension, initialCapacity);
    this.codes = new Int8Array(dimension);
    this.coarse = new Uint8Array(dimension);
    this.coarseTrial = new Uint8Array(dimension);
    this.queryCodes = new Int16Array(dimension);
  }

  /** Work done by the last search, for benchmarks: rows matched and rows that needed int8 codes. */
  lastSearch = { matched: 0, secondStage: 0 };

  get size(): number {
    return this.rowCount;
  }

  /** Appends a unit vector; returns its row. */
  add(unit: Float32Array, tenantCode: number, owner: O): number {
    if (this.rowCount === this.capacity) this.grow();
    const row = this.rowCount++;
    this.floats.set(unit, row * this.dimension);
    this.owners[row] = owner;
    this.quantise(row, unit, tenantCode);
    return row;
  }

  /** Removes `row` by moving the last row into it; returns the owner that moved, if any. */
  remove(row: number): O | undefined {
    const last = --this.rowCount;
    let moved: O | undefined;
    if (row !== last) {
      const d = this.dimension;
      this.floats.copyWithin(row * d, last * d, last * d + d);
      for (const arr of [this.scale, this.step4, this.err4, this.norm4, this.err8, this.norm8]) arr[row] = arr[last];
      this.nibbles.moveRow(last, row);
      moved = this.owners[last];
      this.owners[row] = moved;
    }
    this.owners.length = last;
    return moved;
  }

  vectorAt(row: number): Float32Array {
    return this.floats.slice(row * this.dimension, (row + 1) * this.dimension);
  }

  /**
   * Exact top-`limit` rows of tenant `tenantCode` accepted by `accept` (all if null), by cosine
   * with the unit vector `query`, best first, ties broken by owner id.
   */
  search(query: Float32Array, tenantCode: number, accept: ((owner: O) => boolean) | null, limit: number): ColumnHit<O>[] {
    const n = this.rowCount;
    if (n === 0) return [];
    const { t, queryError, codeSum } = this.quantiseQuery(query);
    const coarse = this.nibbles.scanCoarse(n, tenantCode);

    // Pass 1: 4-bit scores of matching rows; the best `limit` of them seed the exact top-K.
    const approx = this.approx;
    const seeds = new TopK<number>(limit, (a, b) => a < b);
    const offset4 = 7.5 * codeSum;
    let matched = 0;
    for (let r = 0; r < n; r++) {
      const k = coarse[r];
      if (k === SKIPPED_ROW || (accept !== null && !accept(this.owners[r]))) {
        approx[r] = -Infinity;
        continue;
      }
      matched++;
      const a = t * this.step4[r] * (k - offset4);
      approx[r] = a;
      seeds.offer(a, r);
    }
    if (matched === 0) return [];

    const top = new TopK<O>(limit, (a, b) => a.id > b.id);
    for (const { item: r } of seeds.items()) {
      top.offer(this.exactScore(query, r), this.owners[r]);
      approx[r] = -Infinity; // already exact
    }

    // Pass 2: rows whose 4-bit upper bound reaches τ get their int8 score.
    let threshold = top.threshold();
    let pending = 0;
    const candidates = this.candidates;
    for (let r = 0; r < n; r++) {
      const a = approx[r];
      if (a !== -Infinity && a + this.err4[r] + queryError * this.norm4[r] + ROUNDING_MARGIN >= threshold) {
        candidates[pending++] = r;
      }
    }
    if (pending > 0) {
      const high = this.nibbles.scanDetail('high', candidates, pending);
      const low = this.nibbles.scanDetail('low', candidates, pending);
      const offset8 = 128 * codeSum;
      for (let j = 0; j < pending; j++) {
        const r = candidates[j];
        const a8 = t * this.scale[r] * (16 * high[j] - offset8 + low[j]);
        if (a8 + this.err8[r] + queryError * this.norm8[r] + ROUNDING_MARGIN >= threshold) {
          top.offer(this.exactScore(query, r), this.owners[r]);
          threshold = top.threshold();
        }
      }
    }
    this.lastSearch = { matched, secondStage: pending };
    return top.sorted().map(({ score, item }) => ({ owner: item, score }));
  }

  private exactScore(query: Float32Array, row: number): number {
    const f = this.floats;
    const d = this.dimension;
    const base = row * d;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    let i = 0;
    for (; i + 3 < d; i += 4) {
      s0 += query[i] * f[base + i];
      s1 += query[i + 1] * f[base + i + 1];
      s2 += query[i + 2] * f[base + i + 2];
      s3 += query[i + 3] * f[base + i + 3];
    }
    for (; i < d; i++) s0 += query[i] * f[base + i];
    return s0 + s1 + s2 + s3;
  }

  private quantise(row: number, unit: Float32Array, tenantCode: number): void {
    const d = this.dimension;
    let maxAbs = 0;
    for (let i = 0; i < d; i++) maxAbs = Math.max(maxAbs, Math.abs(unit[i]));
    const s = Math.fround(maxAbs / ROW_LEVELS);
    let e8 = 0, n8 = 0;
    for (let i = 0; i < d; i++) {
      const code = Math.max(-ROW_LEVELS, Math.min(ROW_LEVELS, Math.round(unit[i] / s)));
      this.codes[i] = code;
      const v8 = s * code;
      e8 += (unit[i] - v8) ** 2;
      n8 += v8 * v8;
    }
    // Padding dimensions carry coarse code 0, i.e. -7.5 steps; the kernel's zero query entries
    // there make them contribute nothing, so no correction is needed.
    const rms = 1 / Math.sqrt(d);
    let best = { step: 0, err: Infinity, norm: 0 };
    for (const multiple of COARSE_STEPS) {
      const step = Math.fround(multiple * rms);
      let e4 = 0, n4 = 0;
      for (let i = 0; i < d; i++) {
        const k = Math.max(0, Math.min(15, Math.floor(unit[i] / step) + 8));
        this.coarseTrial[i] = k;
        const v4 = step * (k - 7.5);
        e4 += (unit[i] - v4) ** 2;
        n4 += v4 * v4;
      }
      if (e4 < best.err) {
        best = { step, err: e4, norm: n4 };
        this.coarse.set(this.coarseTrial);
      }
    }
    this.scale[row] = s;
    this.step4[row] = best.step;
    // Rounded up so that float32 storage never makes a bound smaller than the true value.
    this.err4[row] = roundUp(Math.sqrt(best.err));
    this.norm4[row] = roundUp(Math.sqrt(best.norm));
    this.err8[row] = roundUp(Math.sqrt(e8));
    this.norm8[row] = roundUp(Math.sqrt(n8));
    this.nibbles.setRow(row, this.coarse, this.codes, tenantCode);
  }

  private quantiseQuery(query: Float32Array): { t: number; queryError: number; codeSum: number } {
    let maxAbs = 0;
    for (let i = 0; i < query.length; i++) maxAbs = Math.max(maxAbs, Math.abs(query[i]));
    const t = maxAbs / QUERY_LEVELS;
    let err = 0, codeSum = 0;
    for (let i = 0; i < query.length; i++) {
      const code = Math.round(query[i] / t);
      this.queryCodes[i] = code;
      codeSum += code;
      err += (query[i] - t * code) ** 2;
    }
    this.nibbles.setQuery(this.queryCodes);
    return { t, queryError: Math.sqrt(err), codeSum };
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    const widen = (old: Float32Array, perRow = 1): Float32Array => {
      const next = new Float32Array(capacity * perRow);
      next.set(old.subarray(0, this.rowCount * perRow));
      return next;
    };
    this.floats = widen(this.floats, this.dimension);
    this.scale = widen(this.scale);
    this.step4 = widen(this.step4);
    this.err4 = widen(this.err4);
    this.norm4 = widen(this.norm4);
    this.err8 = widen(this.err8);
    this.norm8 = widen(this.norm8);
    this.approx = new Float64Array(capacity);
    this.candidates = new Int32Array(capacity);
    this.nibbles.ensureCapacity(capacity, this.rowCount);
    this.capacity = capacity;
  }
}

function roundUp(x: number): number {
  const f = Math.fround(x);
  return f >= x ? f : f * (1 + 2 ** -23);
}

/** Keeps the best `k` items by score (higher is better); `worse(a, b)` breaks score ties. */
class TopK<T> {
  private readonly heap: { score: number; item: T }[] = [];

  constructor(private readonly k: number, private readonly tieWorse: (a: T, b: T) => boolean) {}

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
