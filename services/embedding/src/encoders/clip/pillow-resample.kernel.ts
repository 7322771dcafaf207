import { get, i32, name, OP, section, set, simd, uleb, vec } from '@adseed/wasm';
/**
 * WebAssembly SIMD kernels for the two passes of the Pillow-exact bicubic resample (see
 * pillow-resample.ts). Vertical: one output row = Σ over taps of (input row × Int32 weight),
 * started at Pillow's rounding half, then `clip8`; sixteen bytes per step, widened u8 → i32 in
 * four lanes of four, multiplied and added with wrapping Int32 arithmetic like Pillow's C, then
 * narrowed with saturation: (acc >> 22) saturated to 0…255 is exactly clip8. Plain JS ran this
 * pass at about a third of Pillow's speed. Horizontal (RGB): one output pixel at a time, its R, G
 * and B in three lanes of one accumulator (the fourth lane carries the next pixel's red and is
 * overwritten by that pixel's store). The module is tiny, so it is assembled here from opcodes
 * (as the retrieval service's nibble-dot kernel is) rather than shipped as an opaque binary.
 */

const SIMD = {
  v128Load: 0x00,
  v128Store: 0x0b,
  v128Load32Zero: 0x5c,
  i32x4Splat: 0x11,
  i32x4ExtractLane: 0x1b,
  i8x16NarrowI16x8U: 0x66,
  i16x8NarrowI32x4S: 0x85,
  i16x8ExtendLowI8x16U: 0x89,
  i16x8ExtendHighI8x16U: 0x8a,
  i32x4ExtendLowI16x8U: 0xa9,
  i32x4ExtendHighI16x8U: 0xaa,
  i32x4ShrS: 0xac,
  i32x4Add: 0xae,
  i32x4Mul: 0xb5,
} as const;

export const PRECISION_BITS = 22;

/** `local += by`, `by` code that leaves one i32. */
const addTo = (local: number, by: number[]): number[] => [...get(local), ...by, OP.i32Add, ...set(local)];
const subtractFrom = (local: number, by: number[]): number[] => [...get(local), ...by, OP.i32Sub, ...set(local)];
/** `while (counter !== 0) { body; counter -= 1 }` */
const countdown = (counter: number, body: number[]): number[] => [
  OP.block,
  OP.noResult,
  OP.loop,
  OP.noResult,
  ...get(counter),
  OP.i32Eqz,
  OP.brIf,
  1,
  ...body,
  ...subtractFrom(counter, i32(1)),
  OP.br,
  0,
  OP.end,
  OP.end,
];

/**
 * verticalRow(src, stride, taps, weights, out): for i in [0, stride) step 16,
 * out[i..i+16] = clip8(HALF + Σ_t src[t·stride + i..] · weights[t]). `stride` is a positive
 * multiple of 16; `weights` points at `taps` little-endian Int32.
 */
function verticalRowBody(): number[] {
  const [SRC, STRIDE, TAPS, WEIGHTS, OUT] = [0, 1, 2, 3, 4];
  const [I, T, P, WP] = [5, 6, 7, 8];
  const [ACC0, ACC1, ACC2, ACC3, W, LO, HI] = [9, 10, 11, 12, 13, 14, 15];
  const accumulate = (acc: number, half: number, from: number): number[] => [
    ...get(acc),
    ...get(half),
    ...simd(from),
    ...get(W),
    ...simd(SIMD.i32x4Mul),
    ...simd(SIMD.i32x4Add),
    ...set(acc),
  ];
  const shifted = (acc: number): number[] => [...get(acc), ...i32(PRECISION_BITS), ...simd(SIMD.i32x4ShrS)];
  const code = [
    ...i32(0),
    ...set(I),
    OP.loop,
    OP.noResult,
    ...[ACC0, ACC1, ACC2, ACC3].flatMap((acc) => [...i32(1 << (PRECISION_BITS - 1)), ...simd(SIMD.i32x4Splat), ...set(acc)]),
    ...get(SRC),
    ...get(I),
    OP.i32Add,
    ...set(P),
    ...get(WEIGHTS),
    ...set(WP),
    ...get(TAPS),
    ...set(T),
    ...countdown(T, [
      ...get(WP),
      OP.i32Load,
      2,
      0,
      ...simd(SIMD.i32x4Splat),
      ...set(W),
      ...get(P),
      ...simd(SIMD.v128Load, 0, 0),
      ...set(HI),
      ...get(HI),
      ...simd(SIMD.i16x8ExtendLowI8x16U),
      ...set(LO),
      ...get(HI),
      ...simd(SIMD.i16x8ExtendHighI8x16U),
      ...set(HI),
      ...accumulate(ACC0, LO, SIMD.i32x4ExtendLowI16x8U),
      ...accumulate(ACC1, LO, SIMD.i32x4ExtendHighI16x8U),
      ...accumulate(ACC2, HI, SIMD.i32x4ExtendLowI16x8U),
      ...accumulate(ACC3, HI, SIMD.i32x4ExtendHighI16x8U),
      ...addTo(P, get(STRIDE)),
      ...addTo(WP, i32(4)),
    ]),
    ...get(OUT),
    ...get(I),
    OP.i32Add,
    ...shifted(ACC0),
    ...shifted(ACC1),
    ...simd(SIMD.i16x8NarrowI32x4S),
    ...shifted(ACC2),
    ...shifted(ACC3),
    ...simd(SIMD.i16x8NarrowI32x4S),
    ...simd(SIMD.i8x16NarrowI16x8U),
    ...simd(SIMD.v128Store, 0, 0),
    ...addTo(I, i32(16)),
    ...get(I),
    ...get(STRIDE),
    OP.i32LtU,
    OP.brIf,
    0,
    OP.end,
  ];
  const body = [
    ...vec([
      [4, OP.i32],
      [7, OP.v128],
    ]),
    ...code,
    OP.end,
  ];
  return [...uleb(body.length), ...body];
}

/**
 * horizontalRgbRow(src, bounds, weights, weightStride, count, out): for each of `count` output
 * pixels x, out[3x..3x+3] = clip8(HALF + Σ_t src[3·(first + t)..] · weights[t]), where `bounds`
 * holds Int32 (first, taps) per pixel and pixel x's Int32 weights start at weights + x·weightStride.
 * Reads one byte past a pixel's last tap and writes one byte past the row: both buffers need a
 * spare byte after them. `count` is at least 1.
 */
function horizontalRgbRowBody(): number[] {
  const [SRC, BOUNDS, WEIGHTS, WEIGHT_STRIDE, COUNT, OUT] = [0, 1, 2, 3, 4, 5];
  const [X, P, T, WP] = [6, 7, 8, 9];
  const ACC = 10;
  const code = [
    ...get(COUNT),
    ...set(X),
    OP.loop,
    OP.noResult,
    // P = src + 3 · first; T = taps; WP = this pixel's weights
    ...get(SRC),
    ...get(BOUNDS),
    OP.i32Load,
    2,
    0,
    ...i32(3),
    OP.i32Mul,
    OP.i32Add,
    ...set(P),
    ...get(BOUNDS),
    OP.i32Load,
    2,
    4,
    ...set(T),
    ...get(WEIGHTS),
    ...set(WP),
    ...i32(1 << (PRECISION_BITS - 1)),
    ...simd(SIMD.i32x4Splat),
    ...set(ACC),
    ...countdown(T, [
      ...get(ACC),
      ...get(P),
      ...simd(SIMD.v128Load32Zero, 0, 0),
      ...simd(SIMD.i16x8ExtendLowI8x16U),
      ...simd(SIMD.i32x4ExtendLowI16x8U),
      ...get(WP),
      OP.i32Load,
      2,
      0,
      ...simd(SIMD.i32x4Splat),
      ...simd(SIMD.i32x4Mul),
      ...simd(SIMD.i32x4Add),
      ...set(ACC),
      ...addTo(P, i32(3)),
      ...addTo(WP, i32(4)),
    ]),
    // out[0..4] = the four lanes, (acc >> 22) saturated to 0…255
    ...get(ACC),
    ...i32(PRECISION_BITS),
    ...simd(SIMD.i32x4ShrS),
    ...set(ACC),
    ...get(ACC),
    ...get(ACC),
    ...simd(SIMD.i16x8NarrowI32x4S),
    ...set(ACC),
    ...get(ACC),
    ...get(ACC),
    ...simd(SIMD.i8x16NarrowI16x8U),
    ...set(ACC),
    ...get(OUT),
    ...get(ACC),
    ...simd(SIMD.i32x4ExtractLane, 0),
    OP.i32Store,
    0,
    0,
    ...addTo(OUT, i32(3)),
    ...addTo(BOUNDS, i32(8)),
    ...addTo(WEIGHTS, get(WEIGHT_STRIDE)),
    ...subtractFrom(X, i32(1)),
    ...get(X),
    OP.brIf,
    0,
    OP.end,
  ];
  const body = [
    ...vec([
      [4, OP.i32],
      [1, OP.v128],
    ]),
    ...code,
    OP.end,
  ];
  return [...uleb(body.length), ...body];
}

function assembleModule(): Uint8Array<ArrayBuffer> {
  const params = (n: number) => vec(new Array<number[]>(n).fill([OP.i32]));
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(
      1,
      vec([
        [OP.funcType, ...params(5), ...vec([])],
        [OP.funcType, ...params(6), ...vec([])],
      ]),
    ),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, 0x01]])),
    ...section(3, vec([[0], [1]])),
    ...section(
      7,
      vec([
        [...name('verticalRow'), 0x00, 0],
        [...name('horizontalRgbRow'), 0x00, 1],
      ]),
    ),
    ...section(10, vec([verticalRowBody(), horizontalRgbRowBody()])),
  ]);
}

let compiled: WebAssembly.Module | null | undefined;
/** The compiled module, or null where WebAssembly SIMD is unavailable (the JS path is then used). */
function kernelModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(assembleModule());
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/**
 * The kernel with a growable memory of its own. `reserve(bytes)` returns a fresh view of the
 * memory (views go stale when it grows); callers lay out their buffers in it.
 */
export class ResampleKernel {
  private constructor(
    private readonly memory: WebAssembly.Memory,
    readonly verticalRow: (src: number, stride: number, taps: number, weights: number, out: number) => void,
    readonly horizontalRgbRow: (src: number, bounds: number, weights: number, weightStride: number, count: number, out: number) => void,
  ) {}

  static create(): ResampleKernel | undefined {
    const module = kernelModule();
    if (!module) return undefined;
    const memory = new WebAssembly.Memory({ initial: 16 });
    const exports = new WebAssembly.Instance(module, { env: { memory } }).exports as Pick<ResampleKernel, 'verticalRow' | 'horizontalRgbRow'>;
    return new ResampleKernel(memory, exports.verticalRow, exports.horizontalRgbRow);
  }

  reserve(bytes: number): Uint8Array {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / 65536));
    return new Uint8Array(this.memory.buffer);
  }
}

let shared: ResampleKernel | null | undefined;
/** One kernel per thread (each worker thread gets its own module instance). */
export function resampleKernel(): ResampleKernel | undefined {
  if (shared === undefined) shared = ResampleKernel.create() ?? null;
  return shared ?? undefined;
}
