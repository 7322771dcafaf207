import { get, i32, name, OP, section, set, simd, uleb, vec } from '@adseed/wasm';
/**
 * A WebAssembly SIMD kernel for dot products between an int16 query and rows of 4-bit codes.
 *
 * Why 4-bit and why WebAssembly: on our 2-core VMs a single core reads DRAM at only ~3 GB/s
 * (measured), so a float32 scan of 100k × 512 vectors (200 MB) costs ~60 ms and even int8
 * (51 MB) ~18 ms before any arithmetic; a second thread adds no bandwidth. So every query scans
 * one 4-bit plane (25 MB at 100k × 512), and the int8 codes, kept as two more nibble planes,
 * are read only for the rows whose error bound says they may still reach the top-K. Plain JS loops run ~10× slower than `i32x4.dot_i16x8_s`. The
 * module is tiny, so it is assembled here from opcodes instead of shipping an opaque binary.
 *
 * Packing: 32 dimensions per 16-byte block, seen as eight 16-bit lanes; nibble k (bits 4k..4k+3)
 * of lane i holds dimension 32b + 8k + i. A shift and a mask then yield eight dimensions already
 * widened to 16 bits, lined up with eight consecutive query entries, for `i32x4.dot_i16x8_s`.
 */

/** Score written for rows whose tenant does not match (no real nibble dot reaches it). */
export const SKIPPED_ROW = -0x80000000;

/** Dimensions are processed in blocks of this size; rows and queries are zero-padded to it. */
export const BLOCK_DIMENSIONS = 32;
const BLOCK_BYTES = BLOCK_DIMENSIONS / 2;
const WASM_PAGE_BYTES = 65536;

const SIMD = {
  v128Load: 0x00,
  i16x8Splat: 0x10,
  i32x4ExtractLane: 0x1b,
  v128And: 0x4e,
  i16x8ShrU: 0x8d,
  i32x4Add: 0xae,
  i32x4DotI16x8S: 0xba,
} as const;

const addTo = (local: number, amount: number[]): number[] => [...get(local), ...amount, OP.i32Add, ...set(local)];
const load128 = (offset: number): number[] => simd(SIMD.v128Load, 0, ...uleb(offset));
const funcType = (params: number, results: number): number[] => [
  OP.funcType,
  ...vec(new Array<number[]>(params).fill([OP.i32])),
  ...vec(new Array<number[]>(results).fill([OP.i32])),
];
const funcBody = (locals: number[][], body: number[]): number[] => {
  const code = [...vec(locals), ...body, OP.end];
  return [...uleb(code.length), ...code];
};

/** rowDot(row, query, blocks) -> Σ nibble[d] * query[d] over `blocks` blocks (an even number). */
function rowDotBody(): number[] {
  const [ROW, QUERY, BLOCKS] = [0, 1, 2];
  const [END, ACC0, ACC1, MASK, BYTES] = [3, 4, 5, 6, 7];
  // Nibble k of every 16-bit lane, already widened to i16x8: (lanes >> 4k) & 0xF.
  const nibble = (k: number): number[] => [
    ...get(BYTES),
    ...(k === 0 ? [] : [...i32(4 * k), ...simd(SIMD.i16x8ShrU)]),
    ...(k === 3 ? [] : [...get(MASK), ...simd(SIMD.v128And)]),
  ];
  const block = (acc: number, rowOffset: number, queryOffset: number): number[] => [
    ...get(ROW),
    ...load128(rowOffset),
    ...set(BYTES),
    ...[0, 1, 2, 3].flatMap((k) => [
      ...get(acc),
      ...nibble(k),
      ...get(QUERY),
      ...load128(queryOffset + 16 * k),
      ...simd(SIMD.i32x4DotI16x8S),
      ...simd(SIMD.i32x4Add),
      ...set(acc),
    ]),
  ];
  return funcBody(
    [
      [1, OP.i32],
      [4, OP.v128],
    ],
    [
      ...i32(0x0f),
      ...simd(SIMD.i16x8Splat),
      ...set(MASK),
      ...get(ROW),
      ...get(BLOCKS),
      ...i32(4),
      OP.i32Shl,
      OP.i32Add,
      ...set(END),
      OP.loop,
      OP.noResult,
      // Two blocks per iteration, one accumulator each, so their additions do not wait on each other.
      ...block(ACC0, 0, 0),
      ...block(ACC1, BLOCK_BYTES, BLOCK_DIMENSIONS * 2),
      ...addTo(ROW, i32(2 * BLOCK_BYTES)),
      ...addTo(QUERY, i32(2 * BLOCK_DIMENSIONS * 2)),
      ...get(ROW),
      ...get(END),
      OP.i32LtU,
      OP.brIf,
      0,
      OP.end,
      ...get(ACC0),
      ...get(ACC1),
      ...simd(SIMD.i32x4Add),
      ...set(ACC0),
      ...get(ACC0),
      ...simd(SIMD.i32x4ExtractLane, 0),
      ...get(ACC0),
      ...simd(SIMD.i32x4ExtractLane, 1),
      OP.i32Add,
      ...get(ACC0),
      ...simd(SIMD.i32x4ExtractLane, 2),
      OP.i32Add,
      ...get(ACC0),
      ...simd(SIMD.i32x4ExtractLane, 3),
      OP.i32Add,
    ],
  );
}

/** scanTenant(rows, stride, tenants, count, tenant, query, blocks, out): out[r] = rowDot or SKIPPED_ROW. */
function scanTenantBody(): number[] {
  const [ROWS, STRIDE, TENANTS, COUNT, TENANT, QUERY, BLOCKS, OUT] = [0, 1, 2, 3, 4, 5, 6, 7];
  return funcBody(
    [],
    [
      OP.block,
      OP.noResult,
      OP.loop,
      OP.noResult,
      ...get(COUNT),
      OP.i32Eqz,
      OP.brIf,
      1,
      ...get(OUT),
      ...get(TENANTS),
      OP.i32Load,
      2,
      0,
      ...get(TENANT),
      OP.i32Eq,
      OP.if,
      OP.i32,
      ...get(ROWS),
      ...get(QUERY),
      ...get(BLOCKS),
      OP.call,
      0,
      OP.else,
      ...i32(SKIPPED_ROW),
      OP.end,
      OP.i32Store,
      2,
      0,
      ...addTo(ROWS, get(STRIDE)),
      ...addTo(TENANTS, i32(4)),
      ...addTo(OUT, i32(4)),
      ...get(COUNT),
      ...i32(1),
      OP.i32Sub,
      ...set(COUNT),
      OP.br,
      0,
      OP.end,
      OP.end,
    ],
  );
}

/**
 * scanPair(rows, stride, list, n, query, blocks, outHigh, outLow): for each listed row, the dot
 * of its first `blocks` blocks (high plane) and of the `blocks` blocks after them (low plane),
 * so that both halves of a row's int8 codes are read together.
 */
function scanPairBody(): number[] {
  const [ROWS, STRIDE, LIST, COUNT, QUERY, BLOCKS, OUT_HIGH, OUT_LOW] = [0, 1, 2, 3, 4, 5, 6, 7];
  const ADDRESS = 8;
  return funcBody(
    [[1, OP.i32]],
    [
      OP.block,
      OP.noResult,
      OP.loop,
      OP.noResult,
      ...get(COUNT),
      OP.i32Eqz,
      OP.brIf,
      1,
      ...get(ROWS),
      ...get(LIST),
      OP.i32Load,
      2,
      0,
      ...get(STRIDE),
      OP.i32Mul,
      OP.i32Add,
      ...set(ADDRESS),
      ...get(OUT_HIGH),
      ...get(ADDRESS),
      ...get(QUERY),
      ...get(BLOCKS),
      OP.call,
      0,
      OP.i32Store,
      2,
      0,
      ...get(OUT_LOW),
      ...get(ADDRESS),
      ...get(BLOCKS),
      ...i32(4),
      OP.i32Shl,
      OP.i32Add,
      ...get(QUERY),
      ...get(BLOCKS),
      OP.call,
      0,
      OP.i32Store,
      2,
      0,
      ...addTo(LIST, i32(4)),
      ...addTo(OUT_HIGH, i32(4)),
      ...addTo(OUT_LOW, i32(4)),
      ...get(COUNT),
      ...i32(1),
      OP.i32Sub,
      ...set(COUNT),
      OP.br,
      0,
      OP.end,
      OP.end,
    ],
  );
}

function assembleModule(): Uint8Array<ArrayBuffer> {
  const bytes = [
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec([funcType(3, 1), funcType(8, 0)])),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, 0x01]])),
    ...section(3, vec([[0], [1], [1]])),
    ...section(
      7,
      vec([
        [...name('scanTenant'), 0x00, 1],
        [...name('scanPair'), 0x00, 2],
      ]),
    ),
    ...section(10, vec([rowDotBody(), scanTenantBody(), scanPairBody()])),
  ];
  return new Uint8Array(bytes);
}

let compiled: WebAssembly.Module | undefined;
function nibbleDotModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(assembleModule());
  return compiled;
}

interface NibbleDotExports {
  scanTenant(rows: number, stride: number, tenants: number, count: number, tenant: number, query: number, blocks: number, out: number): void;
  scanPair(rows: number, stride: number, list: number, n: number, query: number, blocks: number, outHigh: number, outLow: number): void;
}

type Region = 'tenants' | 'coarse' | 'detail' | 'out' | 'list' | 'highOut' | 'lowOut';
export type DetailPlane = 'high' | 'low';
/** What a snapshot stores: the coarse plane, and the detail plane (high and low nibbles of each row side by side). */
export type Plane = 'coarse' | 'detail';
export const PLANES: readonly Plane[] = ['coarse', 'detail'];

/**
 * Three nibble planes of one vector column in a WebAssembly memory owned by this store:
 * - coarse: independent 4-bit codes in [0, 15], scanned for every query;
 * - high/low: int8 codes c ∈ [-127, 127] split as high = floor(c / 16) + 8 and low = c mod 16,
 *   so c = 16 * (high - 8) + low; read only for listed candidate rows, which are scattered, so
 *   a row's high and low planes sit side by side (one region, "detail") and are read together.
 */
export class NibbleRowStore {
  readonly blocks: number;
  readonly rowBytes: number;
  private readonly memory = new WebAssembly.Memory({ initial: 1 });
  private readonly kernel: NibbleDotExports;
  private readonly queryBytes: number;
  private capacity = 0;
  private offsets: Record<Region, number> = { tenants: 0, coarse: 0, detail: 0, out: 0, list: 0, highOut: 0, lowOut: 0 };
  private queryView!: Int16Array;
  private tenantsView!: Int32Array;
  private coarseView!: Uint8Array;
  /** Per row: its high-nibble plane bytes, then its low-nibble plane bytes. */
  private detailView!: Uint8Array;
  private outView!: Int32Array;
  private listView!: Int32Array;
  private detailOut!: Record<DetailPlane, Int32Array>;

  constructor(
    readonly dimension: number,
    initialCapacity = 1024,
  ) {
    this.blocks = 2 * Math.ceil(dimension / (2 * BLOCK_DIMENSIONS)); // the kernel does blocks in pairs
    this.rowBytes = this.blocks * BLOCK_BYTES;
    this.queryBytes = this.blocks * BLOCK_DIMENSIONS * 2;
    const instance = new WebAssembly.Instance(nibbleDotModule(), { env: { memory: this.memory } });
    this.kernel = instance.exports as unknown as NibbleDotExports;
    this.resize(Math.max(1, initialCapacity), 0);
  }

  /** Grows to hold `capacity` rows (the caller picks the growth factor), keeping the first `liveRows`. */
  ensureCapacity(capacity: number, liveRows: number): void {
    if (capacity > this.capacity) this.resize(capacity, liveRows);
  }

  /**
   * Packs one row into `out`, three planes of `rowBytes` each (coarse, high, low): `coarse`
   * codes in [0, 15] and int8 `codes` in [-127, 127], one per dimension. Padding dimensions get
   * coarse code 0 and int8 code 0; callers correct for the former.
   */
  packRow(coarse: Uint8Array, codes: Int8Array, out: Uint8Array): void {
    const rowBytes = this.rowBytes;
    out.fill(0, 0, rowBytes);
    out.fill(0x88, rowBytes, 2 * rowBytes); // high nibble 8 = int8 code 0
    out.fill(0, 2 * rowBytes, 3 * rowBytes);
    for (let d = 0; d < codes.length; d++) {
      const code = codes[d];
      const block = d >>> 5;
      const nibble = (d >>> 3) & 3;
      const lane = d & 7;
      const byte = block * BLOCK_BYTES + 2 * lane + (nibble >>> 1); // little-endian lanes
      const shift = (nibble & 1) * 4;
      out[byte] |= coarse[d] << shift;
      const high = rowBytes + byte;
      out[high] = (out[high] & (0xf0 >> shift)) | (((code >> 4) + 8) << shift);
      out[2 * rowBytes + byte] |= (code & 0x0f) << shift;
    }
  }

  /** Stores a row packed by `packRow` (the three planes back to back in `packed`). */
  setRow(row: number, packed: Uint8Array, tenantCode: number): void {
    const rowBytes = this.rowBytes;
    const base = row * rowBytes;
    this.coarseView.set(packed.subarray(0, rowBytes), base);
    this.detailView.set(packed.subarray(rowBytes, 3 * rowBytes), 2 * base);
    this.tenantsView[row] = tenantCode;
  }

  /** Copies row `from` onto row `to` (keeps rows dense after a delete). */
  moveRow(from: number, to: number): void {
    const start = from * this.rowBytes;
    this.coarseView.copyWithin(to * this.rowBytes, start, start + this.rowBytes);
    this.detailView.copyWithin(2 * to * this.rowBytes, 2 * start, 2 * start + 2 * this.rowBytes);
    this.tenantsView[to] = this.tenantsView[from];
  }

  /**
   * The first `rows` rows of a plane, for saving it or loading it in one read. The view is
   * detached by the next growth: do not keep it across one.
   */
  plane(name: Plane, rows: number): Uint8Array {
    return name === 'coarse' ? this.coarseView.subarray(0, rows * this.rowBytes) : this.detailView.subarray(0, 2 * rows * this.rowBytes);
  }

  /** Tenant codes of the first `rows` rows (same lifetime as `plane`). */
  tenantCodes(rows: number): Int32Array {
    return this.tenantsView.subarray(0, rows);
  }

  /** Query codes for the next scans; entries beyond `dimension` are zero. */
  setQuery(codes: Int16Array): void {
    this.queryView.fill(0);
    this.queryView.set(codes);
  }

  /**
   * Σ coarse[d] * query[d] for rows [0, rowCount) of tenant `tenantCode`, SKIPPED_ROW for others.
   * The view is overwritten by the next scanCoarse and detached by the next growth.
   */
  scanCoarse(rowCount: number, tenantCode: number): Int32Array {
    const o = this.offsets;
    this.kernel.scanTenant(o.coarse, this.rowBytes, o.tenants, rowCount, tenantCode, 0, this.blocks, o.out);
    return this.outView;
  }

  /**
   * Σ high[d] * query[d] and Σ low[d] * query[d] for each of `rows[0..n)`; result j belongs to
   * rows[j]. Both are read in one pass, as the two planes of a row lie side by side.
   */
  scanDetail(rows: Int32Array, n: number): Record<DetailPlane, Int32Array> {
    this.listView.set(rows.subarray(0, n));
    const o = this.offsets;
    this.kernel.scanPair(o.detail, 2 * this.rowBytes, o.list, n, 0, this.blocks, o.highOut, o.lowOut);
    return this.detailOut;
  }

  private resize(capacity: number, liveRows: number): void {
    const sizes: Record<Region, number> = {
      tenants: capacity * 4,
      coarse: capacity * this.rowBytes,
      detail: 2 * capacity * this.rowBytes,
      out: capacity * 4,
      list: capacity * 4,
      highOut: capacity * 4,
      lowOut: capacity * 4,
    };
    const rowBytes = liveRows * this.rowBytes;
    const live: Partial<Record<Region, number>> = { tenants: liveRows * 4, coarse: rowBytes, detail: 2 * rowBytes };
    const order: Region[] = ['tenants', 'coarse', 'detail', 'out', 'list', 'highOut', 'lowOut'];
    const next = {} as Record<Region, number>;
    let cursor = this.queryBytes;
    for (const region of order) {
      next[region] = cursor;
      cursor += Math.ceil(sizes[region] / 16) * 16;
    }
    const have = this.memory.buffer.byteLength;
    if (cursor > have) this.memory.grow(Math.ceil((cursor - have) / WASM_PAGE_BYTES));
    const bytes = new Uint8Array(this.memory.buffer);
    // Regions only move up; moving the highest first never overwrites one not yet moved.
    for (const region of [...order].reverse()) {
      const length = live[region] ?? 0;
      if (length > 0 && next[region] !== this.offsets[region]) {
        bytes.copyWithin(next[region], this.offsets[region], this.offsets[region] + length);
      }
    }
    this.capacity = capacity;
    this.offsets = next;
    const buffer = this.memory.buffer;
    this.queryView = new Int16Array(buffer, 0, this.queryBytes / 2);
    this.tenantsView = new Int32Array(buffer, next.tenants, capacity);
    this.coarseView = new Uint8Array(buffer, next.coarse, sizes.coarse);
    this.detailView = new Uint8Array(buffer, next.detail, sizes.detail);
    this.outView = new Int32Array(buffer, next.out, capacity);
    this.listView = new Int32Array(buffer, next.list, capacity);
    this.detailOut = {
      high: new Int32Array(buffer, next.highOut, capacity),
      low: new Int32Array(buffer, next.lowOut, capacity),
    };
  }
}
