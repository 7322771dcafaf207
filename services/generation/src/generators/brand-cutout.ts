/**
 * Cuts a product out of a pack shot on a (near-)white background. The background is found by
 * flood fill from the image border rather than a global threshold, so white areas enclosed by
 * the product (labels, lettering) stay opaque.
 */

/** Straight (not premultiplied) sRGB + alpha pixels, row-major, 4 bytes per pixel. */
export interface RgbaImage {
  data: Buffer;
  width: number;
  height: number;
}

export interface Rgb {
  r: number;
  g: number;
  b: number;
}

export interface CutoutOptions {
  /** A pixel is background-like when every channel is at least 255 - tolerance. JPEG noise needs ~20. */
  tolerance?: number;
}

/** Already-transparent pixels count as background too, so PNGs with alpha work unchanged. */
const TRANSPARENT_ALPHA = 16;

/**
 * Returns a copy of `image` whose border-connected near-white region is transparent. Foreground
 * pixels touching the background get partial alpha (share of foreground in their 3×3
 * neighbourhood), which gives a ~1 px soft edge without letting white fringe bleed outwards.
 */
export function removeWhiteBackground(image: RgbaImage, options: CutoutOptions = {}): RgbaImage {
  const { width, height, data } = image;
  const tolerance = options.tolerance ?? 28;
  const minChannel = 255 - tolerance;
  const pixelCount = width * height;

  // 0 = foreground, 1 = background-like (not yet reached), 2 = background (reached from the border).
  const state = new Uint8Array(pixelCount);
  for (let p = 0, o = 0; p < pixelCount; p++, o += 4) {
    if (data[o + 3] < TRANSPARENT_ALPHA || (data[o] >= minChannel && data[o + 1] >= minChannel && data[o + 2] >= minChannel)) {
      state[p] = 1;
    }
  }

  // 4-connected fill: 8-connectivity would leak through one-pixel diagonal gaps in outlines.
  const queue = new Int32Array(pixelCount);
  let tail = 0;
  const seed = (p: number): void => {
    if (state[p] === 1) {
      state[p] = 2;
      queue[tail++] = p;
    }
  };
  for (let x = 0; x < width; x++) {
    seed(x);
    seed((height - 1) * width + x);
  }
  for (let y = 0; y < height; y++) {
    seed(y * width);
    seed(y * width + width - 1);
  }
  for (let head = 0; head < tail; head++) {
    const p = queue[head];
    const x = p % width;
    if (x > 0 && state[p - 1] === 1) {
      state[p - 1] = 2;
      queue[tail++] = p - 1;
    }
    if (x < width - 1 && state[p + 1] === 1) {
      state[p + 1] = 2;
      queue[tail++] = p + 1;
    }
    if (p >= width && state[p - width] === 1) {
      state[p - width] = 2;
      queue[tail++] = p - width;
    }
    if (p < pixelCount - width && state[p + width] === 1) {
      state[p + width] = 2;
      queue[tail++] = p + width;
    }
  }

  // Background count in each pixel's 1×3 row window, then summed over three rows for the 3×3 box.
  const rowCount = new Uint8Array(pixelCount);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const p = row + x;
      rowCount[p] = (state[p] === 2 ? 1 : 0) + (x > 0 && state[p - 1] === 2 ? 1 : 0) + (x < width - 1 && state[p + 1] === 2 ? 1 : 0);
    }
  }

  const out = Buffer.from(data);
  for (let y = 0; y < height; y++) {
    const rows = 1 + (y > 0 ? 1 : 0) + (y < height - 1 ? 1 : 0);
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      const alphaIndex = p * 4 + 3;
      if (state[p] === 2) {
        out[alphaIndex] = 0;
        continue;
      }
      const backgroundAround = rowCount[p] + (y > 0 ? rowCount[p - width] : 0) + (y < height - 1 ? rowCount[p + width] : 0);
      if (backgroundAround === 0) continue;
      const counted = rows * (1 + (x > 0 ? 1 : 0) + (x < width - 1 ? 1 : 0));
      out[alphaIndex] = Math.round((data[alphaIndex] * (counted - backgroundAround)) / counted);
    }
  }
  return { data: out, width, height };
}

export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Bounding box of pixels with alpha above `minAlpha`; undefined when the image is fully transparent. */
export function opaqueBounds(image: RgbaImage, minAlpha = 8): Box | undefined {
  const { width, height, data } = image;
  let left = width;
  let right = -1;
  let top = height;
  let bottom = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (data[(y * width + x) * 4 + 3] > minAlpha) {
        if (x < left) left = x;
        if (x > right) right = x;
        if (y < top) top = y;
        if (y > bottom) bottom = y;
      }
    }
  }
  if (right < 0) return undefined;
  return { left, top, width: right - left + 1, height: bottom - top + 1 };
}

/** Copies `box` out of `image`. */
export function cropRgba(image: RgbaImage, box: Box): RgbaImage {
  const out = Buffer.alloc(box.width * box.height * 4);
  for (let y = 0; y < box.height; y++) {
    const from = ((box.top + y) * image.width + box.left) * 4;
    out.set(image.data.subarray(from, from + box.width * 4), y * box.width * 4);
  }
  return { data: out, width: box.width, height: box.height };
}

/**
 * The brand's most common saturated colour (opaque pixels only), used to tint the call to
 * action so it matches the product. Colours on which white text reaches `minWhiteContrast` are
 * preferred, so the pill keeps a true brand colour instead of a darkened one. Undefined for
 * greyscale products.
 */
export function dominantAccentColour(image: RgbaImage, minWhiteContrast = 0): Rgb | undefined {
  // 4 bits per channel: coarse enough that anti-aliasing and JPEG noise fall into one bin.
  const counts = new Uint32Array(4096);
  const sums = new Float64Array(4096 * 3);
  const { data } = image;
  for (let o = 0; o < data.length; o += 4) {
    if (data[o + 3] < 250) continue;
    const r = data[o];
    const g = data[o + 1];
    const b = data[o + 2];
    const max = Math.max(r, g, b);
    const min = Math.min(r, g, b);
    if (max < 60 || max - min < 0.35 * max) continue;
    const bin = ((r >> 4) << 8) | ((g >> 4) << 4) | (b >> 4);
    counts[bin] += 1;
    sums[bin * 3] += r;
    sums[bin * 3 + 1] += g;
    sums[bin * 3 + 2] += b;
  }
  const colourOf = (bin: number): Rgb => ({
    r: Math.round(sums[bin * 3] / counts[bin]),
    g: Math.round(sums[bin * 3 + 1] / counts[bin]),
    b: Math.round(sums[bin * 3 + 2] / counts[bin]),
  });
  let best = -1;
  let bestReadable = -1;
  for (let bin = 0; bin < counts.length; bin++) {
    if (counts[bin] === 0) continue;
    if (best < 0 || counts[bin] > counts[best]) best = bin;
    if ((bestReadable < 0 || counts[bin] > counts[bestReadable]) && contrastWithWhite(colourOf(bin)) >= minWhiteContrast) {
      bestReadable = bin;
    }
  }
  if (best < 0) return undefined;
  // A readable colour that is rare on the pack would look arbitrary; require a real share.
  return bestReadable >= 0 && counts[bestReadable] * 4 >= counts[best] ? colourOf(bestReadable) : colourOf(best);
}

/** WCAG relative luminance of an sRGB colour. */
export function relativeLuminance({ r, g, b }: Rgb): number {
  const lin = (c: number): number => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/** WCAG contrast ratio of white text on `colour`. */
export function contrastWithWhite(colour: Rgb): number {
  return 1.05 / (relativeLuminance(colour) + 0.05);
}

/** Darkens `colour` until white text on it reaches `minContrast` (WCAG ratio). */
export function darkenForWhiteText(colour: Rgb, minContrast = 4.5): Rgb {
  let current = colour;
  for (let i = 0; i < 40; i++) {
    if (contrastWithWhite(current) >= minContrast) return current;
    current = { r: Math.floor(current.r * 0.92), g: Math.floor(current.g * 0.92), b: Math.floor(current.b * 0.92) };
  }
  return current;
}
