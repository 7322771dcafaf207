import sharp, { type Metadata, type OverlayOptions } from 'sharp';

import type { AdGenerator, AdRequest, GeneratedAd } from './ad-generator.port';
import { InvalidAdRequestError, InvalidImageError } from './ad-request.errors';
import {
  cropRgba,
  darkenForWhiteText,
  dominantAccentColour,
  opaqueBounds,
  removeWhiteBackground,
  type Rgb,
  type RgbaImage,
} from './brand-cutout';
import { AD_FONT_FAMILY, escapeXml, fitText, normaliseAdText } from './text-layout';

export { InvalidAdRequestError, InvalidImageError } from './ad-request.errors';

export const LOCAL_AD_GENERATOR_NAME = 'local-composite';
export const AD_SIZE_DEFAULT = 1080;
export const AD_SIZE_MIN = 1080;
export const AD_SIZE_MAX = 2048;
export const HEADLINE_MAX_CHARS = 140;
export const CALL_TO_ACTION_MAX_CHARS = 40;

export interface LocalAdGeneratorOptions {
  /** Largest accepted input image (width × height, after reading its header). Default 40 MP. */
  maxInputPixels?: number;
  /** Largest accepted encoded input, bytes. Default 30 MiB. */
  maxInputBytes?: number;
  /** Background tolerance for the brand cut-out, see `removeWhiteBackground`. Default 28. */
  backgroundTolerance?: number;
}

export type PackCorner = 'bottom-left' | 'bottom-right';

export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Where each element of an ad went; everything outside these rectangles is the seed photo. */
export interface AdLayout {
  size: number;
  margin: number;
  corner: PackCorner;
  /** Bounding box of the placed brand cut-out. */
  pack: Rect;
  shadowOffset: { x: number; y: number };
  /** Area the drop shadow may darken, clipped to the canvas. */
  shadow: Rect;
  /** Gradient band holding the headline (absent without a headline). */
  headline?: Rect;
  /** Call-to-action pill including its own shadow (absent without a call to action). */
  callToAction?: Rect;
}

export interface RenderedAd {
  ad: GeneratedAd;
  layout: AdLayout;
}

// Proportions of the output side, chosen by eye on 1080 px ads; they scale with `size`.
const MARGIN = 0.05;
const PACK_MAX_WIDTH = 0.38;
const PACK_MAX_HEIGHT = 0.46;
const SHADOW_OFFSET_X = 0.01;
const SHADOW_OFFSET_Y = 0.016;
const SHADOW_SIGMA = 0.012;
const SHADOW_OPACITY = 0.45;
const HEADLINE_MAX_FONT = 0.064;
/** Two lines are tried down to this size before a third line is allowed. */
const HEADLINE_TWO_LINE_MIN_FONT = 0.05;
const HEADLINE_MIN_FONT = 0.038;
const HEADLINE_MAX_LINES = 3;
const HEADLINE_FADE = 0.07;
const HEADLINE_LINE_HEIGHT = 1.16;
const CTA_HEIGHT = 0.078;
const CTA_MAX_FONT = 0.034;
const CTA_MIN_FONT = 0.024;
const CTA_GAP_TO_PACK = 0.04;
const CTA_SHADOW_SIGMA = 0.007;
const CTA_SHADOW_OFFSET_Y = 0.006;
/** WCAG AA for large text: the pill text is bold and at least 26 px. */
const CTA_MIN_CONTRAST = 3;
/** Used when the brand has no saturated colour to borrow. */
const DEFAULT_ACCENT: Rgb = { r: 0xe8, g: 0x59, b: 0x0c };

/** On photo ads level 3 was within 1% of level 6's size and ~20% faster to encode. */
const PNG_COMPRESSION_LEVEL = 3;
/** libvips work is bounded by the pixel limit; this only stops a pathological input from hanging a worker. */
const PIPELINE_TIMEOUT_SECONDS = 20;

const ACCEPTED_FORMATS = new Set(['jpeg', 'png', 'webp']);

/**
 * The built-in generator: composes the seed photo and the brand's cut-out into a square ad with
 * sharp, without any model or network. Same inputs give byte-identical PNGs.
 */
export class LocalAdGenerator implements AdGenerator {
  readonly name = LOCAL_AD_GENERATOR_NAME;
  private readonly maxInputPixels: number;
  private readonly maxInputBytes: number;
  private readonly backgroundTolerance: number;

  constructor(options: LocalAdGeneratorOptions = {}) {
    this.maxInputPixels = options.maxInputPixels ?? 40_000_000;
    this.maxInputBytes = options.maxInputBytes ?? 30 * 1024 * 1024;
    this.backgroundTolerance = options.backgroundTolerance ?? 28;
  }

  async generate(request: AdRequest): Promise<GeneratedAd> {
    return (await this.render(request)).ad;
  }

  /** Like `generate`, and also reports where each element was placed. */
  async render(request: AdRequest): Promise<RenderedAd> {
    const size = validateSize(request.size);
    const headline = validateText(request.headline, 'headline', HEADLINE_MAX_CHARS);
    const callToAction = validateText(request.callToAction, 'callToAction', CALL_TO_ACTION_MAX_CHARS);
    await Promise.all([this.checkImage(request.seed, 'seed'), this.checkImage(request.brand, 'brand')]);

    const margin = Math.round(size * MARGIN);
    const [seed, pack] = await Promise.all([this.decodeSeed(request.seed, size), this.cutOutBrand(request.brand, size)]);

    const corner = quieterLowerCorner(seed, size, margin, pack.width, pack.height);
    const packRect: Rect = {
      left: corner === 'bottom-right' ? size - margin - pack.width : margin,
      top: size - margin - pack.height,
      width: pack.width,
      height: pack.height,
    };
    const shadow = await renderDropShadow(pack, packRect, size);
    const layers: OverlayOptions[] = [rawLayer(shadow.image, shadow.rect), rawLayer(pack, packRect)];
    const layout: AdLayout = { size, margin, corner, pack: packRect, shadowOffset: shadow.offset, shadow: shadow.rect };

    if (headline !== undefined) {
      const band = headlineOverlay(headline, size, margin);
      layers.push({ input: Buffer.from(band.svg), left: 0, top: 0 });
      layout.headline = band.rect;
    }
    if (callToAction !== undefined) {
      const accent = darkenForWhiteText(dominantAccentColour(pack, CTA_MIN_CONTRAST) ?? DEFAULT_ACCENT, CTA_MIN_CONTRAST);
      const pill = callToActionOverlay(callToAction, size, margin, packRect, corner, accent);
      layers.push({ input: Buffer.from(pill.svg), left: pill.rect.left, top: pill.rect.top });
      layout.callToAction = pill.rect;
    }

    const composed = await sharp(seed.data, { raw: { width: size, height: size, channels: 3 } })
      .composite(layers)
      .removeAlpha()
      .raw()
      .toBuffer();
    const png = await sharp(composed, { raw: { width: size, height: size, channels: 3 } })
      .png({ compressionLevel: PNG_COMPRESSION_LEVEL })
      .timeout({ seconds: PIPELINE_TIMEOUT_SECONDS })
      .toBuffer();
    return { ad: { png, width: size, height: size, generator: this.name }, layout };
  }

  /** Header-only checks, so oversized or non-image input is refused before any decoding. */
  private async checkImage(input: unknown, field: 'seed' | 'brand'): Promise<void> {
    if (!Buffer.isBuffer(input)) throw new InvalidImageError(field, 'must be the image file bytes (a Buffer)');
    if (input.length === 0) throw new InvalidImageError(field, 'is empty (0 bytes)');
    if (input.length > this.maxInputBytes) {
      throw new InvalidImageError(field, `is ${input.length} bytes; the limit is ${this.maxInputBytes}`);
    }
    let metadata: Metadata;
    try {
      metadata = await sharp(input, { limitInputPixels: false }).metadata();
    } catch {
      throw new InvalidImageError(field, 'is not a readable image; send JPEG, PNG or WebP bytes');
    }
    // SVG and friends are refused: they can reference external resources and have no pixel size.
    if (metadata.format === undefined || !ACCEPTED_FORMATS.has(metadata.format)) {
      throw new InvalidImageError(field, `has format "${metadata.format ?? 'unknown'}"; send JPEG, PNG or WebP`);
    }
    const width = metadata.width ?? 0;
    const height = metadata.height ?? 0;
    if (width < 1 || height < 1) throw new InvalidImageError(field, `has no pixels (${width}×${height})`);
    if (width * height > this.maxInputPixels) {
      throw new InvalidImageError(
        field,
        `is ${width}×${height} = ${width * height} pixels; the limit is ${this.maxInputPixels}, downscale it first`,
      );
    }
  }

  /** Seed cover-cropped to the square, keeping the most salient part (libvips "attention"). */
  private async decodeSeed(input: Buffer, size: number): Promise<{ data: Buffer; width: number; height: number }> {
    try {
      const { data, info } = await sharp(input, { limitInputPixels: this.maxInputPixels })
        .rotate()
        .flatten({ background: '#ffffff' })
        .resize(size, size, { fit: 'cover', position: sharp.strategy.attention })
        .toColourspace('srgb')
        .removeAlpha()
        .raw()
        .timeout({ seconds: PIPELINE_TIMEOUT_SECONDS })
        .toBuffer({ resolveWithObject: true });
      if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
      return { data, width: info.width, height: info.height };
    } catch (error) {
      throw new InvalidImageError('seed', `could not be decoded (${reason(error)})`);
    }
  }

  /** Brand image without its white surround, trimmed and scaled to fit the pack box. */
  private async cutOutBrand(input: Buffer, size: number): Promise<RgbaImage> {
    const maxWidth = Math.round(size * PACK_MAX_WIDTH);
    const maxHeight = Math.round(size * PACK_MAX_HEIGHT);
    let decoded: RgbaImage;
    try {
      // Cut out at up to twice the final size: the later downscale anti-aliases the edge.
      const { data, info } = await sharp(input, { limitInputPixels: this.maxInputPixels })
        .rotate()
        .resize(maxWidth * 2, maxHeight * 2, { fit: 'inside', withoutEnlargement: true })
        .toColourspace('srgb')
        .ensureAlpha()
        .raw()
        .timeout({ seconds: PIPELINE_TIMEOUT_SECONDS })
        .toBuffer({ resolveWithObject: true });
      if (info.channels !== 4) throw new Error(`decoded to ${info.channels} channels`);
      decoded = { data, width: info.width, height: info.height };
    } catch (error) {
      throw new InvalidImageError('brand', `could not be decoded (${reason(error)})`);
    }

    const cut = removeWhiteBackground(decoded, { tolerance: this.backgroundTolerance });
    const bounds = opaqueBounds(cut);
    if (bounds === undefined) {
      throw new InvalidImageError('brand', 'is entirely white or transparent; there is no product to place');
    }
    const trimmed = cropRgba(cut, bounds);
    const scale = Math.min(maxWidth / trimmed.width, maxHeight / trimmed.height);
    const width = Math.max(1, Math.round(trimmed.width * scale));
    const height = Math.max(1, Math.round(trimmed.height * scale));
    const { data } = await sharp(trimmed.data, { raw: { width: trimmed.width, height: trimmed.height, channels: 4 } })
      .resize(width, height, { fit: 'fill' })
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { data, width, height };
  }
}

function rawLayer(image: RgbaImage, at: Rect): OverlayOptions {
  return { input: image.data, raw: { width: image.width, height: image.height, channels: 4 }, left: at.left, top: at.top };
}

function validateSize(size: number | undefined): number {
  if (size === undefined) return AD_SIZE_DEFAULT;
  if (!Number.isInteger(size) || size < AD_SIZE_MIN || size > AD_SIZE_MAX) {
    throw new InvalidAdRequestError('size', `must be an integer from ${AD_SIZE_MIN} to ${AD_SIZE_MAX}, got ${String(size)}`);
  }
  return size;
}

function validateText(text: string | undefined, field: string, maxChars: number): string | undefined {
  if (text === undefined) return undefined;
  if (typeof text !== 'string') throw new InvalidAdRequestError(field, 'must be a string');
  const normalised = normaliseAdText(text);
  if (Array.from(normalised).length > maxChars) {
    throw new InvalidAdRequestError(field, `is ${Array.from(normalised).length} characters; the limit is ${maxChars}`);
  }
  return normalised === '' ? undefined : normalised;
}

function reason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0].slice(0, 200);
}

/**
 * Puts the pack where it hides less of the photo: the lower corner with less luminance detail
 * (mean gradient). Ties go right, where readers' eyes finish.
 */
function quieterLowerCorner(seed: { data: Buffer }, size: number, margin: number, width: number, height: number): PackCorner {
  const top = size - margin - height;
  const detail = (left: number): number => {
    const luma = (x: number, y: number): number => {
      const o = (y * size + x) * 3;
      return 0.299 * seed.data[o] + 0.587 * seed.data[o + 1] + 0.114 * seed.data[o + 2];
    };
    let sum = 0;
    let samples = 0;
    for (let y = top; y < top + height - 4; y += 4) {
      for (let x = left; x < left + width - 4; x += 4) {
        const here = luma(x, y);
        sum += Math.abs(luma(x + 4, y) - here) + Math.abs(luma(x, y + 4) - here);
        samples += 1;
      }
    }
    return samples === 0 ? 0 : sum / samples;
  };
  const right = detail(size - margin - width);
  const left = detail(margin);
  return left < right * 0.9 ? 'bottom-left' : 'bottom-right';
}

/** Blurred, offset, semi-transparent copy of the cut-out's alpha, clipped to the canvas. */
async function renderDropShadow(
  pack: RgbaImage,
  packRect: Rect,
  size: number,
): Promise<{ image: RgbaImage; rect: Rect; offset: { x: number; y: number } }> {
  const sigma = size * SHADOW_SIGMA;
  const pad = Math.ceil(3 * sigma);
  const offset = { x: Math.round(size * SHADOW_OFFSET_X), y: Math.round(size * SHADOW_OFFSET_Y) };
  const paddedWidth = pack.width + 2 * pad;
  const paddedHeight = pack.height + 2 * pad;
  const alpha = Buffer.alloc(paddedWidth * paddedHeight);
  for (let y = 0; y < pack.height; y++) {
    for (let x = 0; x < pack.width; x++) {
      alpha[(y + pad) * paddedWidth + x + pad] = pack.data[(y * pack.width + x) * 4 + 3];
    }
  }
  const blurred = await sharp(alpha, { raw: { width: paddedWidth, height: paddedHeight, channels: 1 } })
    .blur(sigma)
    .extractChannel(0) // libvips widens one-band raw input to sRGB on output otherwise
    .raw()
    .toBuffer();

  const originLeft = packRect.left + offset.x - pad;
  const originTop = packRect.top + offset.y - pad;
  const left = Math.max(0, originLeft);
  const top = Math.max(0, originTop);
  const right = Math.min(size, originLeft + paddedWidth);
  const bottom = Math.min(size, originTop + paddedHeight);
  const rect: Rect = { left, top, width: right - left, height: bottom - top };
  const data = Buffer.alloc(rect.width * rect.height * 4);
  for (let y = 0; y < rect.height; y++) {
    for (let x = 0; x < rect.width; x++) {
      const source = (y + top - originTop) * paddedWidth + (x + left - originLeft);
      data[(y * rect.width + x) * 4 + 3] = Math.round(blurred[source] * SHADOW_OPACITY);
    }
  }
  return { image: { data, width: rect.width, height: rect.height }, rect, offset };
}

/** Headline centred at the top on a dark gradient that fades into the photo. */
function headlineOverlay(text: string, size: number, margin: number): { svg: string; rect: Rect } {
  // A shorter band hides less of the photo, so two slightly smaller lines beat three big ones.
  const twoLines = fitText(text, {
    maxWidth: size - 2 * margin,
    maxLines: 2,
    maxFontSize: Math.round(size * HEADLINE_MAX_FONT),
    minFontSize: Math.round(size * HEADLINE_TWO_LINE_MIN_FONT),
  });
  const fitted = !twoLines.truncated
    ? twoLines
    : fitText(text, {
        maxWidth: size - 2 * margin,
        maxLines: HEADLINE_MAX_LINES,
        maxFontSize: Math.round(size * HEADLINE_TWO_LINE_MIN_FONT),
        minFontSize: Math.round(size * HEADLINE_MIN_FONT),
      });
  const fontSize = fitted.fontSize;
  const lineHeight = Math.round(fontSize * HEADLINE_LINE_HEIGHT);
  const firstBaseline = margin + Math.round(fontSize * 0.78);
  const textBottom = firstBaseline + (fitted.lines.length - 1) * lineHeight + Math.round(fontSize * 0.26);
  const height = Math.min(size, textBottom + Math.round(size * HEADLINE_FADE));
  const shadowShift = Math.max(1, Math.round(size * 0.002));
  const lines = fitted.lines
    .map((line, i) => {
      const y = firstBaseline + i * lineHeight;
      const content = escapeXml(line);
      return (
        `<text x="${size / 2}" y="${y + shadowShift}" fill="#000000" fill-opacity="0.35">${content}</text>` +
        `<text x="${size / 2}" y="${y}" fill="#ffffff">${content}</text>`
      );
    })
    .join('');
  const solidUntil = (textBottom / height).toFixed(3);
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${height}" viewBox="0 0 ${size} ${height}">` +
    `<defs><linearGradient id="band" x1="0" y1="0" x2="0" y2="1">` +
    `<stop offset="0" stop-color="#000000" stop-opacity="0.62"/>` +
    `<stop offset="${solidUntil}" stop-color="#000000" stop-opacity="0.4"/>` +
    `<stop offset="1" stop-color="#000000" stop-opacity="0"/>` +
    `</linearGradient></defs>` +
    `<rect x="0" y="0" width="${size}" height="${height}" fill="url(#band)"/>` +
    `<g font-family="${AD_FONT_FAMILY}" font-weight="bold" font-size="${fontSize}" text-anchor="middle">${lines}</g>` +
    `</svg>`;
  return { svg, rect: { left: 0, top: 0, width: size, height } };
}

/** Rounded pill in the lower corner opposite the pack, tinted with the brand's colour. */
function callToActionOverlay(
  text: string,
  size: number,
  margin: number,
  packRect: Rect,
  corner: PackCorner,
  accent: Rgb,
): { svg: string; rect: Rect } {
  const pillHeight = Math.round(size * CTA_HEIGHT);
  const available = size - 2 * margin - packRect.width - Math.round(size * CTA_GAP_TO_PACK);
  const maxFont = Math.round(size * CTA_MAX_FONT);
  const paddingX = (fontSize: number): number => Math.round(fontSize * 1.1);
  const fitted = fitText(text, {
    maxWidth: available - 2 * paddingX(maxFont),
    maxLines: 1,
    maxFontSize: maxFont,
    minFontSize: Math.round(size * CTA_MIN_FONT),
    step: 1,
  });
  const pillWidth = Math.min(available, Math.ceil(fitted.width) + 2 * paddingX(fitted.fontSize));
  const sigma = size * CTA_SHADOW_SIGMA;
  const shadowDrop = Math.round(size * CTA_SHADOW_OFFSET_Y);
  const extent = Math.ceil(3 * sigma) + shadowDrop;
  const pillLeft = corner === 'bottom-right' ? margin : size - margin - pillWidth;
  const pillTop = size - margin - pillHeight;
  const rect: Rect = {
    left: pillLeft - extent,
    top: pillTop - extent,
    width: pillWidth + 2 * extent,
    height: pillHeight + 2 * extent,
  };
  const pill = `x="${extent}" width="${pillWidth}" height="${pillHeight}" rx="${pillHeight / 2}"`;
  const fill = `rgb(${accent.r},${accent.g},${accent.b})`;
  // Caps are ~0.73 em tall, so a baseline 0.36 em below the middle centres them optically.
  const baseline = extent + pillHeight / 2 + fitted.fontSize * 0.36;
  const font = `font-family="${AD_FONT_FAMILY}" font-weight="bold" font-size="${fitted.fontSize}"`;
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${rect.width}" height="${rect.height}"` +
    ` viewBox="0 0 ${rect.width} ${rect.height}">` +
    `<defs><filter id="soft" x="-20%" y="-50%" width="140%" height="200%">` +
    `<feGaussianBlur stdDeviation="${sigma.toFixed(2)}"/></filter></defs>` +
    `<rect ${pill} y="${extent + shadowDrop}" fill="#000000" fill-opacity="0.35" filter="url(#soft)"/>` +
    `<rect ${pill} y="${extent}" fill="${fill}"/>` +
    `<text x="${extent + pillWidth / 2}" y="${baseline.toFixed(1)}" ${font} text-anchor="middle" fill="#ffffff">` +
    `${escapeXml(fitted.lines[0] ?? '')}</text>` +
    `</svg>`;
  return { svg, rect };
}
