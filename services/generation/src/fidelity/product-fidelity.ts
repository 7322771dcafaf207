import sharp from 'sharp';
import { cropRgba, opaqueBounds, removeWhiteBackground, type RgbaImage } from '../generators/brand-cutout';

export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * How intact the brand/product image is in an ad: 1 = the pack exactly as supplied, 0 = nothing
 * of it. `structure` is the mean local SSIM (8×8 windows) of the pack's grey levels against the
 * matched region, `colour` one minus the mean RGB difference (a recoloured pack keeps its edges
 * but not its colours), `score` their product. Only pixels the cut-out covers fully are compared,
 * so the photo around the pack, the drop shadow and the anti-aliased rim do not count.
 */
export interface ProductFidelity {
  score: number;
  structure: number;
  colour: number;
  /** `placement`: the generator said where it put the pack; `search`: found by template matching. */
  located: 'placement' | 'search';
  region: Rect;
}

export interface FidelityOptions {
  /** Background tolerance of the cut-out; the local compositor's default is 28. */
  backgroundTolerance?: number;
}

/** Longest side of the grids the comparison and the search run on (enough for a pack, cheap). */
const COMPARE_SIDE = 128;
const SEARCH_SIDE = 128;
/** A pack smaller than this share of the ad's width is not looked for. */
const SEARCH_MIN_SHARE = 0.08;
const SEARCH_MAX_SHARE = 0.9;
const SEARCH_SCALES = 14;
/** RGB mean difference (0-255) at which colour agreement reaches 0. */
const COLOUR_ZERO_AT = 96;

/** Cut-out of the brand image (the same flood fill the local compositor uses), trimmed to the product. */
export async function brandCutout(brand: Buffer, options: FidelityOptions = {}): Promise<RgbaImage> {
  const { data, info } = await sharp(brand).rotate().ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const cut = removeWhiteBackground({ data, width: info.width, height: info.height }, { tolerance: options.backgroundTolerance ?? 28 });
  const bounds = opaqueBounds(cut);
  if (!bounds) throw new Error('the brand image has no product to compare (entirely white or transparent)');
  return cropRgba(cut, bounds);
}

/** Scores the pack in the ad; locates it by template matching when no placement is known. */
export async function productFidelity(ad: Buffer, brand: Buffer, placement?: Rect, options: FidelityOptions = {}): Promise<ProductFidelity> {
  const cutout = await brandCutout(brand, options);
  const meta = await sharp(ad).metadata();
  const adWidth = meta.width ?? 0;
  const adHeight = meta.height ?? 0;
  const region = placement ? clampRect(placement, adWidth, adHeight) : await locate(ad, adWidth, adHeight, cutout);
  const { structure, colour } = await compare(ad, region, cutout);
  return { score: round(structure * colour), structure: round(structure), colour: round(colour), located: placement ? 'placement' : 'search', region };
}

async function compare(ad: Buffer, region: Rect, cutout: RgbaImage): Promise<{ structure: number; colour: number }> {
  const scale = Math.min(1, COMPARE_SIDE / Math.max(region.width, region.height));
  const w = Math.max(8, Math.round(region.width * scale));
  const h = Math.max(8, Math.round(region.height * scale));
  const [pack, seen] = await Promise.all([
    sharp(cutout.data, { raw: { width: cutout.width, height: cutout.height, channels: 4 } })
      .resize(w, h, { fit: 'fill' })
      .raw()
      .toBuffer(),
    sharp(ad).extract(region).resize(w, h, { fit: 'fill' }).ensureAlpha().raw().toBuffer(),
  ]);
  const mask = new Uint8Array(w * h);
  const a = new Float64Array(w * h);
  const b = new Float64Array(w * h);
  let colourDiff = 0;
  let covered = 0;
  for (let i = 0; i < w * h; i++) {
    const o = i * 4;
    if (pack[o + 3] < 250) continue;
    mask[i] = 1;
    covered++;
    a[i] = grey(pack[o], pack[o + 1], pack[o + 2]);
    b[i] = grey(seen[o], seen[o + 1], seen[o + 2]);
    colourDiff += (Math.abs(pack[o] - seen[o]) + Math.abs(pack[o + 1] - seen[o + 1]) + Math.abs(pack[o + 2] - seen[o + 2])) / 3;
  }
  if (covered === 0) return { structure: 0, colour: 0 };
  const colour = Math.max(0, 1 - colourDiff / covered / COLOUR_ZERO_AT);
  return { structure: Math.max(0, maskedSsim(a, b, mask, w, h)), colour };
}

/** Mean SSIM over 8×8 windows (stride 4) at least 3/4 covered by the pack, on covered pixels only. */
export function maskedSsim(a: Float64Array, b: Float64Array, mask: Uint8Array, width: number, height: number): number {
  const C1 = (0.01 * 255) ** 2;
  const C2 = (0.03 * 255) ** 2;
  let total = 0;
  let windows = 0;
  for (let y = 0; y + 8 <= height; y += 4) {
    for (let x = 0; x + 8 <= width; x += 4) {
      let n = 0,
        sa = 0,
        sb = 0,
        saa = 0,
        sbb = 0,
        sab = 0;
      for (let dy = 0; dy < 8; dy++) {
        for (let dx = 0; dx < 8; dx++) {
          const i = (y + dy) * width + x + dx;
          if (!mask[i]) continue;
          n++;
          sa += a[i];
          sb += b[i];
          saa += a[i] * a[i];
          sbb += b[i] * b[i];
          sab += a[i] * b[i];
        }
      }
      if (n < 48) continue;
      const ma = sa / n;
      const mb = sb / n;
      const va = saa / n - ma * ma;
      const vb = sbb / n - mb * mb;
      const cov = sab / n - ma * mb;
      total += ((2 * ma * mb + C1) * (2 * cov + C2)) / ((ma * ma + mb * mb + C1) * (va + vb + C2));
      windows++;
    }
  }
  return windows === 0 ? 0 : total / windows;
}

/**
 * Multi-scale template matching on downscaled grey images: the cut-out (its covered pixels only)
 * is slid over the ad at a range of sizes, keeping the aspect ratio, and the position and size
 * with the highest normalised cross-correlation win. A coarse pass over the whole ad (longest
 * side 128 px) is refined at 512 px around the coarse match (±6 % size, ±8 px position).
 */
async function locate(ad: Buffer, adWidth: number, adHeight: number, cutout: RgbaImage): Promise<Rect> {
  const aspect = cutout.height / cutout.width;
  const coarse = await greyScaled(ad, adWidth, adHeight, SEARCH_SIDE);
  const minW = Math.max(6, coarse.width * SEARCH_MIN_SHARE);
  const maxW = Math.min(coarse.width, coarse.height / aspect) * SEARCH_MAX_SHARE;
  const widths = Array.from({ length: SEARCH_SCALES }, (_, s) => Math.round(minW * (maxW / minW) ** (s / (SEARCH_SCALES - 1))));
  const first = await bestMatch(coarse, cutout, widths);
  const fine = await greyScaled(ad, adWidth, adHeight, REFINE_SIDE);
  const k = fine.factor / coarse.factor;
  const around = { x: Math.round(first.x * k), y: Math.round(first.y * k), radius: 8 };
  const fineWidths = [0.94, 0.96, 0.98, 1, 1.02, 1.04, 1.06].map((f) => Math.round(first.w * k * f));
  const best = await bestMatch(fine, cutout, fineWidths, around);
  const factor = fine.factor;
  return clampRect({ left: best.x / factor, top: best.y / factor, width: best.w / factor, height: best.h / factor }, adWidth, adHeight);
}

const REFINE_SIDE = 512;

interface GreyImage {
  data: Float64Array;
  width: number;
  height: number;
  factor: number;
}

async function greyScaled(ad: Buffer, adWidth: number, adHeight: number, side: number): Promise<GreyImage> {
  const factor = Math.min(1, side / Math.max(adWidth, adHeight));
  const width = Math.max(1, Math.round(adWidth * factor));
  const height = Math.max(1, Math.round(adHeight * factor));
  const raw = await sharp(ad).resize(width, height, { fit: 'fill' }).ensureAlpha().raw().toBuffer();
  const data = new Float64Array(width * height);
  for (let i = 0; i < width * height; i++) data[i] = grey(raw[i * 4], raw[i * 4 + 1], raw[i * 4 + 2]);
  return { data, width, height, factor };
}

async function bestMatch(
  image: GreyImage,
  cutout: RgbaImage,
  widths: number[],
  around?: { x: number; y: number; radius: number },
): Promise<{ ncc: number; x: number; y: number; w: number; h: number }> {
  const { data, width: sw, height: sh } = image;
  const aspect = cutout.height / cutout.width;
  let best = { ncc: -Infinity, x: 0, y: 0, w: sw, h: sh };
  for (const tw of widths) {
    const th = Math.round(tw * aspect);
    if (tw < 4 || th < 4 || tw > sw || th > sh) continue;
    const raw = await sharp(cutout.data, { raw: { width: cutout.width, height: cutout.height, channels: 4 } })
      .resize(tw, th, { fit: 'fill' })
      .raw()
      .toBuffer();
    const offsets: number[] = [];
    const values: number[] = [];
    for (let y = 0; y < th; y++) {
      for (let x = 0; x < tw; x++) {
        const o = (y * tw + x) * 4;
        if (raw[o + 3] < 250) continue;
        offsets.push(y * sw + x);
        values.push(grey(raw[o], raw[o + 1], raw[o + 2]));
      }
    }
    const n = values.length;
    if (n < 16) continue;
    const mean = values.reduce((t, v) => t + v, 0) / n;
    const centred = values.map((v) => v - mean);
    const norm = Math.sqrt(centred.reduce((t, v) => t + v * v, 0)) || 1;
    const x0 = around ? Math.max(0, around.x - around.radius) : 0;
    const y0 = around ? Math.max(0, around.y - around.radius) : 0;
    const x1 = around ? Math.min(sw - tw, around.x + around.radius) : sw - tw;
    const y1 = around ? Math.min(sh - th, around.y + around.radius) : sh - th;
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const base = y * sw + x;
        let sum = 0,
          sumSq = 0,
          dot = 0;
        for (let k = 0; k < n; k++) {
          const v = data[base + offsets[k]];
          sum += v;
          sumSq += v * v;
          dot += v * centred[k];
        }
        const variance = sumSq - (sum * sum) / n;
        const ncc = dot / (norm * Math.sqrt(Math.max(variance, 1e-6)));
        if (ncc > best.ncc) best = { ncc, x, y, w: tw, h: th };
      }
    }
  }
  return best;
}

const grey = (r: number, g: number, b: number): number => 0.299 * r + 0.587 * g + 0.114 * b;
const round = (v: number): number => Math.round(v * 1000) / 1000;

function clampRect(rect: Rect, width: number, height: number): Rect {
  const left = Math.max(0, Math.min(width - 1, Math.round(rect.left)));
  const top = Math.max(0, Math.min(height - 1, Math.round(rect.top)));
  return {
    left,
    top,
    width: Math.max(1, Math.min(width - left, Math.round(rect.width))),
    height: Math.max(1, Math.min(height - top, Math.round(rect.height))),
  };
}
