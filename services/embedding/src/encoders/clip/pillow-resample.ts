/**
 * Pillow's 8-bit bicubic resize (`Image.resize(size, Image.BICUBIC)`), ported from Pillow's
 * `libImaging/Resample.c` so CLIP sees the pixels it was exported with: Keys cubic a = -0.5, the
 * kernel widened by the scale factor when shrinking (antialiasing), weights rounded to 22-bit
 * fixed point, horizontal pass first with the intermediate rounded to 8 bits, then vertical.
 */

import { resampleKernel } from './pillow-resample.kernel';

const PRECISION_BITS = 32 - 8 - 2;
const BICUBIC_SUPPORT = 2;
/** Source bytes the horizontal SIMD pass copies into the kernel's memory at a time. */
const SOURCE_CHUNK_BYTES = 1 << 20;

function bicubic(x: number): number {
  const a = -0.5;
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}

interface Coefficients {
  /** Taps per output sample. */
  readonly ksize: number;
  /** Per output sample: first input index and number of taps. */
  readonly bounds: Int32Array;
  /** Fixed-point weights, ksize per output sample. */
  readonly weights: Int32Array;
}

function precomputeCoefficients(inSize: number, outSize: number): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = BICUBIC_SUPPORT * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C casts truncate toward zero; Math.trunc keeps the same rounding for negative values.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let sum = 0;
    for (let x = 0; x < xmax; x++) {
      const w = bicubic((x + xmin - center + 0.5) / filterScale);
      k[x] = w;
      sum += w;
    }
    for (let x = 0; x < ksize; x++) {
      const w = x < xmax ? (sum !== 0 ? k[x] / sum : k[x]) : 0;
      // Pillow rounds half away from zero when converting to fixed point.
      weights[xx * ksize + x] = w < 0 ? Math.trunc(-0.5 + w * (1 << PRECISION_BITS)) : Math.trunc(0.5 + w * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, weights };
}

const HALF = 1 << (PRECISION_BITS - 1);
const CLIP8_MAX = (1 << PRECISION_BITS) << 8;

function clip8(v: number): number {
  if (v >= CLIP8_MAX) return 255;
  if (v <= 0) return 0;
  return v >> PRECISION_BITS;
}

/**
 * One output pixel: `taps` input pixels `step` bytes apart starting at `first`, weighted by
 * `weights[kBase…]`. RGB is unrolled because every image goes through this loop.
 */
function resampleTaps(
  data: Uint8Array,
  channels: number,
  first: number,
  step: number,
  weights: Int32Array,
  kBase: number,
  taps: number,
  out: Uint8Array,
  o: number,
): void {
  if (channels === 3) {
    let r = HALF;
    let g = HALF;
    let b = HALF;
    for (let t = 0, p = first; t < taps; t++, p += step) {
      const w = weights[kBase + t];
      r += data[p] * w;
      g += data[p + 1] * w;
      b += data[p + 2] * w;
    }
    out[o] = clip8(r);
    out[o + 1] = clip8(g);
    out[o + 2] = clip8(b);
    return;
  }
  for (let c = 0; c < channels; c++) {
    let acc = HALF;
    for (let t = 0, p = first + c; t < taps; t++, p += step) acc += data[p] * weights[kBase + t];
    out[o + c] = clip8(acc);
  }
}

/** Interleaved 8-bit pixels, `channels` per pixel, row-major. */
export interface RawImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly channels: number;
}

/** A window of the resized image, in resized-image coordinates. */
export interface CropWindow {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/** Coefficients restricted to output samples [first, first + count): each output sample only depends on its own taps. */
function sliceCoefficients(c: Coefficients, first: number, count: number): Coefficients {
  return { ksize: c.ksize, bounds: c.bounds.subarray(first * 2, (first + count) * 2), weights: c.weights.subarray(first * c.ksize, (first + count) * c.ksize) };
}

/**
 * Horizontal pass over `rows` source rows starting at `rowOffset`, 3 channels, into a packed
 * buffer `outWidth` pixels wide. Int32 arithmetic as Pillow's C (`Math.imul`, `| 0`).
 */
function horizontalRgb(
  src: Uint8Array,
  srcWidth: number,
  rowOffset: number,
  rows: number,
  coeffs: Coefficients,
  outWidth: number,
  out: Uint8Array,
): Uint8Array {
  const { ksize, bounds, weights } = coeffs;
  const srcStride = srcWidth * 3;
  let o = 0;
  for (let y = 0; y < rows; y++) {
    const rowBase = (y + rowOffset) * srcStride;
    for (let xx = 0; xx < outWidth; xx++) {
      let p = rowBase + bounds[xx * 2] * 3;
      const taps = bounds[xx * 2 + 1];
      let k = xx * ksize;
      let r = HALF;
      let g = HALF;
      let b = HALF;
      for (let t = 0; t < taps; t++, p += 3, k++) {
        const w = weights[k];
        r = (r + Math.imul(src[p], w)) | 0;
        g = (g + Math.imul(src[p + 1], w)) | 0;
        b = (b + Math.imul(src[p + 2], w)) | 0;
      }
      out[o] = r >= CLIP8_MAX ? 255 : r <= 0 ? 0 : r >> PRECISION_BITS;
      out[o + 1] = g >= CLIP8_MAX ? 255 : g <= 0 ? 0 : g >> PRECISION_BITS;
      out[o + 2] = b >= CLIP8_MAX ? 255 : b <= 0 ? 0 : b >> PRECISION_BITS;
      o += 3;
    }
  }
  return out;
}

/**
 * Vertical pass, row at a time: each output row is a weighted sum of whole input rows, so the
 * inner loop streams contiguous bytes into an Int32 accumulator row. `emit(row, values)` gets
 * each finished 8-bit row (the buffer is reused).
 */
function verticalRows(
  src: Uint8Array,
  rowBytes: number,
  coeffs: Coefficients,
  rowOffset: number,
  outRows: number,
  emit: (row: number, values: Uint8Array) => void,
): void {
  const { ksize, bounds, weights } = coeffs;
  const acc = new Int32Array(rowBytes);
  const row = new Uint8Array(rowBytes);
  for (let yy = 0; yy < outRows; yy++) {
    const ymin = bounds[yy * 2] - rowOffset;
    const taps = bounds[yy * 2 + 1];
    acc.fill(HALF);
    for (let t = 0; t < taps; t++) {
      const w = weights[yy * ksize + t];
      if (w === 0) continue;
      const base = (ymin + t) * rowBytes;
      for (let i = 0; i < rowBytes; i++) acc[i] = (acc[i] + Math.imul(src[base + i], w)) | 0;
    }
    for (let i = 0; i < rowBytes; i++) {
      const v = acc[i];
      row[i] = v >= CLIP8_MAX ? 255 : v <= 0 ? 0 : v >> PRECISION_BITS;
    }
    emit(yy, row);
  }
}

/**
 * Pillow's bicubic resize to `width`×`height` followed by a crop, computing only the pixels
 * inside the crop: every output pixel of Pillow's two passes depends only on its own taps, so
 * skipping the pixels the crop throws away leaves the kept ones bit for bit the same. `emit`
 * receives each cropped row (`crop.width` × channels bytes; the buffer is reused).
 */
export function resizeCropBicubicLikePillow(
  src: RawImage,
  width: number,
  height: number,
  crop: CropWindow,
  emit: (row: number, values: Uint8Array) => void,
  options: { simd?: boolean } = {},
): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`resizeBicubicLikePillow: target size must be positive integers, got ${width}×${height}`);
  }
  const { channels: ch } = src;
  if (src.data.length !== src.width * src.height * ch) {
    throw new Error(`resizeBicubicLikePillow: buffer holds ${src.data.length} bytes, expected ${src.width}×${src.height}×${ch}`);
  }
  if (crop.left < 0 || crop.top < 0 || crop.width < 1 || crop.height < 1 || crop.left + crop.width > width || crop.top + crop.height > height) {
    throw new Error(`resizeBicubicLikePillow: crop ${crop.width}×${crop.height}+${crop.left}+${crop.top} is outside ${width}×${height}`);
  }
  // Pillow skips a pass whose size does not change; the pixels then pass through untouched.
  const needHorizontal = width !== src.width;
  const needVertical = height !== src.height;
  const horiz = needHorizontal ? sliceCoefficients(precomputeCoefficients(src.width, width), crop.left, crop.width) : undefined;
  const vert = needVertical ? sliceCoefficients(precomputeCoefficients(src.height, height), crop.top, crop.height) : undefined;

  // Source rows the output needs: those under the crop, or those the vertical taps read.
  let firstRow = crop.top;
  let rows = crop.height;
  if (vert) {
    firstRow = vert.bounds[0];
    let last = 0;
    for (let i = 0; i < crop.height; i++) last = Math.max(last, vert.bounds[i * 2] + vert.bounds[i * 2 + 1]);
    for (let i = 0; i < crop.height; i++) firstRow = Math.min(firstRow, vert.bounds[i * 2]);
    rows = last - firstRow;
  }

  const rowBytes = crop.width * ch;
  const srcStride = src.width * ch;
  // Both passes run in the WebAssembly SIMD kernels when there are some: the vertical one 16 bytes
  // a step (so rows must be a multiple of 16 bytes: 224 RGB pixels are 672), the horizontal one for
  // RGB. They share the kernel's memory, laid out as: vertical weights, one output row, the
  // intermediate rows, horizontal weights and bounds, then up to ~1 MiB of source rows at a time
  // (each buffer the horizontal kernel reads or writes with a spare byte after it). The memory
  // holds about what the output needs, not the source image: it never shrinks.
  const kernel = options.simd !== false ? resampleKernel() : undefined;
  const simdVertical = kernel && vert && rowBytes % 16 === 0 ? vert : undefined;
  const simdHorizontal = kernel && horiz && ch === 3 ? horiz : undefined;
  const chunkRows = Math.max(1, Math.min(rows, Math.floor(SOURCE_CHUNK_BYTES / srcStride)));
  const weightsAt = 0;
  const rowAt = simdVertical ? align16(simdVertical.weights.length * 4) : 0;
  const midAt = rowAt + align16(rowBytes);
  const hWeightsAt = midAt + align16(rows * rowBytes + 1);
  const hBoundsAt = hWeightsAt + (simdHorizontal ? align16(simdHorizontal.weights.length * 4) : 0);
  const srcAt = hBoundsAt + (simdHorizontal ? align16(simdHorizontal.bounds.length * 4) : 0);
  let memory: Uint8Array | undefined;
  try {
    if (simdVertical || simdHorizontal) memory = kernel?.reserve(simdHorizontal ? srcAt + chunkRows * srcStride + 1 : midAt + rows * rowBytes);
  } catch {
    memory = undefined; // the memory could not grow: the JavaScript passes need none of it
  }
  const midOut = memory ? memory.subarray(midAt, midAt + rows * rowBytes) : new Uint8Array(rows * rowBytes);

  // After the horizontal pass (or without it), `mid` holds `rows` rows of crop.width pixels.
  let mid: Uint8Array;
  if (kernel && memory && simdHorizontal) {
    new Int32Array(memory.buffer, hWeightsAt, simdHorizontal.weights.length).set(simdHorizontal.weights);
    new Int32Array(memory.buffer, hBoundsAt, simdHorizontal.bounds.length).set(simdHorizontal.bounds);
    for (let y0 = 0; y0 < rows; y0 += chunkRows) {
      const n = Math.min(chunkRows, rows - y0);
      memory.set(src.data.subarray((firstRow + y0) * srcStride, (firstRow + y0 + n) * srcStride), srcAt);
      for (let y = 0; y < n; y++) {
        kernel.horizontalRgbRow(srcAt + y * srcStride, hBoundsAt, hWeightsAt, simdHorizontal.ksize * 4, crop.width, midAt + (y0 + y) * rowBytes);
      }
    }
    mid = midOut;
  } else if (horiz && ch === 3) {
    mid = horizontalRgb(src.data, src.width, firstRow, rows, horiz, crop.width, midOut);
  } else if (horiz) {
    mid = midOut;
    for (let y = 0; y < rows; y++) {
      const rowBase = (y + firstRow) * src.width * ch;
      for (let xx = 0; xx < crop.width; xx++) {
        resampleTaps(
          src.data,
          ch,
          rowBase + horiz.bounds[xx * 2] * ch,
          ch,
          horiz.weights,
          xx * horiz.ksize,
          horiz.bounds[xx * 2 + 1],
          mid,
          (y * crop.width + xx) * ch,
        );
      }
    }
  } else {
    mid = midOut;
    for (let y = 0; y < rows; y++) {
      const from = ((y + firstRow) * src.width + crop.left) * ch;
      mid.set(src.data.subarray(from, from + crop.width * ch), y * crop.width * ch);
    }
  }

  if (kernel && memory && simdVertical) {
    new Int32Array(memory.buffer, weightsAt, simdVertical.weights.length).set(simdVertical.weights);
    const row = memory.subarray(rowAt, rowAt + rowBytes);
    for (let yy = 0; yy < crop.height; yy++) {
      const first = simdVertical.bounds[yy * 2] - firstRow;
      kernel.verticalRow(midAt + first * rowBytes, rowBytes, simdVertical.bounds[yy * 2 + 1], weightsAt + yy * simdVertical.ksize * 4, rowAt);
      emit(yy, row);
    }
    return;
  }
  if (vert) {
    verticalRows(mid, rowBytes, vert, firstRow, crop.height, emit);
    return;
  }
  const row = new Uint8Array(rowBytes);
  for (let y = 0; y < crop.height; y++) {
    row.set(mid.subarray(y * rowBytes, (y + 1) * rowBytes));
    emit(y, row);
  }
}

const align16 = (n: number): number => (n + 15) & ~15;

/** Resizes like Pillow's `Image.resize((width, height), Image.BICUBIC)` for 8-bit images. */
export function resizeBicubicLikePillow(src: RawImage, width: number, height: number): RawImage {
  const out = new Uint8Array(width * height * src.channels);
  resizeCropBicubicLikePillow(src, width, height, { left: 0, top: 0, width, height }, (y, values) => out.set(values, y * values.length));
  return { data: out, width, height, channels: src.channels };
}
