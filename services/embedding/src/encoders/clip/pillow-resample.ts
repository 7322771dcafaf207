/**
 * Pillow's 8-bit bicubic resize (`Image.resize(size, Image.BICUBIC)`), ported from Pillow's
 * `libImaging/Resample.c` so CLIP sees the pixels it was exported with: Keys cubic a = -0.5, the
 * kernel widened by the scale factor when shrinking (antialiasing), weights rounded to 22-bit
 * fixed point, horizontal pass first with the intermediate rounded to 8 bits, then vertical.
 */

const PRECISION_BITS = 32 - 8 - 2;
const BICUBIC_SUPPORT = 2;

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
const CLIP8_MAX = 1 << PRECISION_BITS << 8;

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
  data: Uint8Array, channels: number, first: number, step: number,
  weights: Int32Array, kBase: number, taps: number, out: Uint8Array, o: number,
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

/** Resizes like Pillow's `Image.resize((width, height), Image.BICUBIC)` for 8-bit images. */
export function resizeBicubicLikePillow(src: RawImage, width: number, height: number): RawImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`resizeBicubicLikePillow: target size must be positive integers, got ${width}×${height}`);
  }
  const { channels: ch } = src;
  if (src.data.length !== src.width * src.height * ch) {
    throw new Error(`resizeBicubicLikePillow: buffer holds ${src.data.length} bytes, expected ${src.width}×${src.height}×${ch}`);
  }
  const needHorizontal = width !== src.width;
  const needVertical = height !== src.height;
  const horiz = precomputeCoefficients(src.width, width);
  const vert = precomputeCoefficients(src.height, height);

  let img = src;
  let vertBounds = vert.bounds;
  if (needHorizontal) {
    // Only the rows the vertical pass reads are resampled horizontally, as in Pillow.
    const yFirst = vert.bounds[0];
    const yLast = vert.bounds[height * 2 - 2] + vert.bounds[height * 2 - 1];
    const rows = needVertical ? yLast - yFirst : src.height;
    const rowOffset = needVertical ? yFirst : 0;
    if (needVertical) {
      vertBounds = Int32Array.from(vert.bounds);
      for (let i = 0; i < height; i++) vertBounds[i * 2] -= yFirst;
    }
    const out = new Uint8Array(width * rows * ch);
    const { ksize, bounds, weights } = horiz;
    for (let y = 0; y < rows; y++) {
      const rowBase = (y + rowOffset) * src.width * ch;
      for (let xx = 0; xx < width; xx++) {
        resampleTaps(src.data, ch, rowBase + bounds[xx * 2] * ch, ch, weights, xx * ksize, bounds[xx * 2 + 1], out, (y * width + xx) * ch);
      }
    }
    img = { data: out, width, height: rows, channels: ch };
  }
  if (needVertical) {
    const out = new Uint8Array(width * height * ch);
    const { ksize, weights } = vert;
    const rowStride = img.width * ch;
    for (let yy = 0; yy < height; yy++) {
      const ymin = vertBounds[yy * 2];
      const ymax = vertBounds[yy * 2 + 1];
      for (let xx = 0; xx < width; xx++) {
        resampleTaps(img.data, ch, ymin * rowStride + xx * ch, rowStride, weights, yy * ksize, ymax, out, (yy * width + xx) * ch);
      }
    }
    img = { data: out, width, height, channels: ch };
  }
  return needHorizontal || needVertical ? img : { ...src, data: Uint8Array.from(src.data) };
}
