import { createHash } from 'node:crypto';
import sharp, { type Metadata, type OverlayOptions } from 'sharp';

import type { AdBrandKit, AdGenerator, AdRequest, GeneratedAd } from './ad-generator.port';
import { AdFont } from './ad-font';
import { InvalidAdRequestError, InvalidImageError } from './ad-request.errors';
import {
  cropRgba,
  contrastWithWhite,
  darkenForWhiteText,
  dominantAccentColour,
  opaqueBounds,
  relativeLuminance,
  removeWhiteBackground,
  type Rgb,
  type RgbaImage,
} from './brand-cutout';
import { meanSaliency, mostSalientWindow, saliencyMap, type SaliencyMap } from './saliency';
import { fitText, normaliseAdText } from './text-layout';

export { InvalidAdRequestError, InvalidImageError } from './ad-request.errors';

export const LOCAL_AD_GENERATOR_NAME = 'local-composite';
/** Bumped when the same inputs would give a different picture (3: text drawn as outlines from a font file; brand kit). */
export const LOCAL_AD_GENERATOR_VERSION = '3';
/** Most looks one seed can be asked for (crops × placements × mirrored). */
export const LOOK_MAX = 63;
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

export type PackCorner = 'bottom-left' | 'bottom-right' | 'top-left' | 'top-right';
const isTop = (corner: PackCorner): boolean => corner.startsWith('top');
const isRight = (corner: PackCorner): boolean => corner.endsWith('right');

/** A seed enlarged more than this to fill the format is recorded as a warning: it will look soft. */
export const UPSCALE_WARNING_FACTOR = 2;

export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Where each element of an ad went; everything outside these rectangles is the seed photo. */
export interface AdLayout {
  width: number;
  height: number;
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
  /** The brand kit's logo (absent without one). */
  logo?: Rect & { corner: PackCorner };
}

/** How the seed became the background, for the ad's provenance. */
export interface SeedTreatment {
  /** Oriented size of the seed as decoded. */
  seedWidth: number;
  seedHeight: number;
  /** Factor the seed was scaled by to cover the format (> 1: enlarged). */
  upscale: number;
  /** The region of the seed that fills the ad, in seed pixels. */
  crop: Rect;
  /** The look asked for, and whether it needed a mirrored seed to differ from the others. */
  look: number;
  mirrored: boolean;
  /** Mean saliency (0..1) under the pack where it went, and the best any candidate offered. */
  saliencyUnderPack: number;
}

export interface RenderedAd {
  ad: GeneratedAd;
  layout: AdLayout;
  seed: SeedTreatment;
}

// Proportions of the output side, chosen by eye on 1080 px ads; they scale with `size`.
const MARGIN = 0.05;
const PACK_MAX_WIDTH = 0.38;
const PACK_MAX_HEIGHT = 0.46;
const SHADOW_OFFSET_X = 0.01;
const SHADOW_OFFSET_Y = 0.016;
const SHADOW_SIGMA = 0.012;
const SHADOW_OPACITY = 0.45;
/** Share of the crop's slack a non-attention crop shifts by. */
const CROP_SHIFT = 0.33;
/** Smallest side of a format (1.91:1 is 1200×628). */
const FORMAT_SIDE_MIN = 600;
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
/** The kit's logo fits a box this share of the short side wide and high. */
const LOGO_MAX_WIDTH = 0.2;
const LOGO_MAX_HEIGHT = 0.1;
/** Space between the logo and a headline beside it. */
const LOGO_GAP = 0.02;
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
  /** Parsed brand-kit fonts by content hash: a job's ads share one parse. */
  private readonly fonts = new Map<string, AdFont>();

  constructor(options: LocalAdGeneratorOptions = {}) {
    this.maxInputPixels = options.maxInputPixels ?? 40_000_000;
    this.maxInputBytes = options.maxInputBytes ?? 30 * 1024 * 1024;
    this.backgroundTolerance = options.backgroundTolerance ?? 28;
  }

  async generate(request: AdRequest): Promise<GeneratedAd> {
    return (await this.render(request)).ad;
  }

  /** Like `generate`, and also reports where each element was placed and how the seed was cropped. */
  async render(request: AdRequest): Promise<RenderedAd> {
    const { width, height } = validateDimensions(request);
    const look = validateLook(request.look);
    const unit = Math.min(width, height);
    const headline = validateText(request.headline, 'headline', HEADLINE_MAX_CHARS);
    const callToAction = validateText(request.callToAction, 'callToAction', CALL_TO_ACTION_MAX_CHARS);
    const kit = request.brandKit;
    const colours = kit ? validateKitColours(kit.colours) : undefined;
    const font = kit?.font ? this.parseFont(kit.font) : AdFont.default();
    await Promise.all([
      this.checkImage(request.seed, 'seed'),
      this.checkImage(request.brand, 'brand'),
      ...(kit?.logo ? [this.checkImage(kit.logo, 'logo')] : []),
    ]);

    const margin = Math.round(unit * MARGIN);
    const packScale = validatePackScale(request.packScale);
    const [cover, pack, logo] = await Promise.all([
      this.coverSeed(request.seed, width, height),
      this.cutOutBrand(request.brand, unit * packScale),
      kit?.logo ? this.cutOutLogo(kit.logo, unit) : Promise.resolve(undefined),
    ]);

    // Each look is one (crop, placement) pair; looks beyond the distinct pairs mirror the seed.
    const saliency = await coverSaliency(cover);
    const crops = cropCandidates(cover, saliency, width, height);
    const placements = crops.map((crop) => rankedPlacements(saliency, crop, width, height, margin, pack, headline !== undefined, false, request.corner));
    const pairs = lookPairs(
      placements.map((p) => p.eligible.length),
      placements.map((p) => p.all.length),
    );
    const pair = pairs[look % pairs.length];
    const mirrored = Math.floor(look / pairs.length) % 2 === 1;
    const crop = crops[pair.crop];
    let seedData = extractRgb(cover.data, cover.width, crop, width, height);
    let ranking = placements[pair.crop];
    if (mirrored) {
      seedData = await sharp(seedData, { raw: { width, height, channels: 3 } })
        .flop()
        .raw()
        .toBuffer();
      ranking = rankedPlacements(saliency, crop, width, height, margin, pack, headline !== undefined, true, request.corner);
    }
    const placement = ranking.all[pair.placement % ranking.all.length];
    const corner = placement.corner;
    const packRect = placement.rect;
    const shadow = await renderDropShadow(pack, packRect, width, height, unit);
    const layers: OverlayOptions[] = [rawLayer(shadow.image, shadow.rect), rawLayer(pack, packRect)];
    const layout: AdLayout = { width, height, margin, corner, pack: packRect, shadowOffset: shadow.offset, shadow: shadow.rect };

    // The logo takes the freest corner the pack and the call to action leave; a headline beside it makes room.
    let logoRect: (Rect & { corner: PackCorner }) | undefined;
    if (logo) {
      const ctaCorner: PackCorner | undefined = callToAction === undefined ? undefined : isRight(corner) ? 'bottom-left' : 'bottom-right';
      logoRect = placeLogo(saliency, crop, width, height, margin, logo, [corner, ...(ctaCorner ? [ctaCorner] : [])], mirrored);
    }
    if (headline !== undefined) {
      const reserve = logoRect && isTop(logoRect.corner) ? logoRect.width + Math.round(unit * LOGO_GAP) : 0;
      const band = headlineOverlay(headline, width, height, unit, margin, font, colours ? hexToRgb(colours.text) : WHITE, reserve);
      layers.push({ input: Buffer.from(band.svg), left: 0, top: 0 });
      layout.headline = band.rect;
    }
    if (callToAction !== undefined) {
      const fill = colours ? hexToRgb(colours.primary) : darkenForWhiteText(dominantAccentColour(pack, CTA_MIN_CONTRAST) ?? DEFAULT_ACCENT, CTA_MIN_CONTRAST);
      const label = colours ? labelColour(fill, [hexToRgb(colours.text), hexToRgb(colours.secondary)]) : WHITE;
      const pill = callToActionOverlay(callToAction, width, height, unit, margin, packRect, corner, fill, label, font);
      layers.push({ input: Buffer.from(pill.svg), left: pill.rect.left, top: pill.rect.top });
      layout.callToAction = pill.rect;
    }
    if (logo && logoRect) {
      layers.push(rawLayer(logo, logoRect));
      layout.logo = logoRect;
    }

    const composed = await sharp(seedData, { raw: { width, height, channels: 3 } })
      .composite(layers)
      .removeAlpha()
      .raw()
      .toBuffer();
    const png = await sharp(composed, { raw: { width, height, channels: 3 } })
      .png({ compressionLevel: PNG_COMPRESSION_LEVEL })
      .timeout({ seconds: PIPELINE_TIMEOUT_SECONDS })
      .toBuffer();

    const upscale = cover.scale;
    const seedCrop: Rect = {
      left: Math.round(crop.left / upscale),
      top: Math.round(crop.top / upscale),
      width: Math.min(cover.seedWidth, Math.round(width / upscale)),
      height: Math.min(cover.seedHeight, Math.round(height / upscale)),
    };
    const warnings: string[] = [];
    if (upscale > UPSCALE_WARNING_FACTOR) {
      warnings.push(
        `the seed (${cover.seedWidth}×${cover.seedHeight}) was enlarged ${upscale.toFixed(1)}× to fill ${width}×${height}; ` +
          `it may look soft: use a seed of at least ${Math.ceil(cover.seedWidth * (upscale / UPSCALE_WARNING_FACTOR))}×${Math.ceil(cover.seedHeight * (upscale / UPSCALE_WARNING_FACTOR))}`,
      );
    }
    const treatment: SeedTreatment = {
      seedWidth: cover.seedWidth,
      seedHeight: cover.seedHeight,
      upscale,
      crop: seedCrop,
      look,
      mirrored,
      saliencyUnderPack: placement.saliency,
    };
    return {
      ad: {
        png,
        width,
        height,
        generator: this.name,
        model: { id: LOCAL_AD_GENERATOR_NAME, version: LOCAL_AD_GENERATOR_VERSION },
        warnings,
        seed: { width: cover.seedWidth, height: cover.seedHeight, upscale, crop: seedCrop, mirrored },
        placement: packRect,
        ...(kit
          ? {
              brandKit: {
                version: kit.version,
                ...(kit.font ? { font: { name: font.name, sha256: font.sha256 } } : {}),
                ...(logoRect ? { logoPlacement: { left: logoRect.left, top: logoRect.top, width: logoRect.width, height: logoRect.height } } : {}),
              },
            }
          : {}),
      },
      layout,
      seed: treatment,
    };
  }

  /** Header-only checks, so oversized or non-image input is refused before any decoding. */
  private async checkImage(input: unknown, field: 'seed' | 'brand' | 'logo'): Promise<void> {
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
      throw new InvalidImageError(field, `is ${width}×${height} = ${width * height} pixels; the limit is ${this.maxInputPixels}, downscale it first`);
    }
  }

  /** The seed scaled (not yet cropped) so it just covers the format. */
  private async coverSeed(input: Buffer, width: number, height: number): Promise<CoveredSeed> {
    try {
      const metadata = await sharp(input, { limitInputPixels: this.maxInputPixels }).metadata();
      const swap = (metadata.orientation ?? 1) >= 5;
      const seedWidth = (swap ? metadata.height : metadata.width) ?? 1;
      const seedHeight = (swap ? metadata.width : metadata.height) ?? 1;
      const scale = Math.max(width / seedWidth, height / seedHeight);
      const coverWidth = Math.max(width, Math.round(seedWidth * scale));
      const coverHeight = Math.max(height, Math.round(seedHeight * scale));
      const { data, info } = await sharp(input, { limitInputPixels: this.maxInputPixels })
        .rotate()
        .flatten({ background: '#ffffff' })
        .resize(coverWidth, coverHeight, { fit: 'fill' })
        .toColourspace('srgb')
        .removeAlpha()
        .raw()
        .timeout({ seconds: PIPELINE_TIMEOUT_SECONDS })
        .toBuffer({ resolveWithObject: true });
      if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels`);
      return { data, width: coverWidth, height: coverHeight, seedWidth, seedHeight, scale };
    } catch (error) {
      throw new InvalidImageError('seed', `could not be decoded: the file is truncated or corrupt${plainCause(error)}`);
    }
  }

  /** Brand image without its white surround, trimmed and scaled to fit the pack box. */
  private async cutOutBrand(input: Buffer, unit: number): Promise<RgbaImage> {
    const maxWidth = Math.round(unit * PACK_MAX_WIDTH);
    const maxHeight = Math.round(unit * PACK_MAX_HEIGHT);
    let decoded: RgbaImage;
    try {
      decoded = await this.decodeForCutOut(input, maxWidth, maxHeight);
    } catch (error) {
      throw new InvalidImageError('brand', `could not be decoded: the file is truncated or corrupt${plainCause(error)}`);
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

  /**
   * An image (pack or logo) decoded upright to sRGB + alpha, at most twice the box it goes into:
   * it is cut out at that size, and the later downscale anti-aliases the cut edge.
   */
  private async decodeForCutOut(input: Buffer, maxWidth: number, maxHeight: number): Promise<RgbaImage> {
    const { data, info } = await sharp(input, { limitInputPixels: this.maxInputPixels })
      .rotate()
      .resize(maxWidth * 2, maxHeight * 2, { fit: 'inside', withoutEnlargement: true })
      .toColourspace('srgb')
      .ensureAlpha()
      .raw()
      .timeout({ seconds: PIPELINE_TIMEOUT_SECONDS })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 4) throw new Error(`decoded to ${info.channels} channels`);
    return { data, width: info.width, height: info.height };
  }

  private parseFont(data: Buffer): AdFont {
    if (!Buffer.isBuffer(data) || data.length === 0) throw new InvalidAdRequestError('font', 'must be the font file bytes');
    const key = createHash('sha256').update(data).digest('hex');
    let font = this.fonts.get(key);
    if (!font) {
      font = AdFont.fromFile(data);
      if (this.fonts.size >= FONT_CACHE_MAX) this.fonts.delete(this.fonts.keys().next().value as string);
      this.fonts.set(key, font);
    }
    return font;
  }

  /**
   * The kit's logo, trimmed and scaled into the logo box. A logo with transparency is taken as
   * drawn; an opaque one has its white surround cut away like the pack.
   */
  private async cutOutLogo(input: Buffer, unit: number): Promise<RgbaImage> {
    const maxWidth = Math.round(unit * LOGO_MAX_WIDTH);
    const maxHeight = Math.round(unit * LOGO_MAX_HEIGHT);
    let decoded: RgbaImage;
    let transparent = false;
    try {
      const { hasAlpha } = await sharp(input, { limitInputPixels: this.maxInputPixels }).metadata();
      decoded = await this.decodeForCutOut(input, maxWidth, maxHeight);
      const { data } = decoded;
      if (hasAlpha) for (let i = 3; i < data.length && !transparent; i += 4) transparent = data[i] < 250;
    } catch (error) {
      throw new InvalidImageError('logo', `could not be decoded (${reason(error)})`);
    }
    const cut = transparent ? decoded : removeWhiteBackground(decoded, { tolerance: this.backgroundTolerance });
    const bounds = opaqueBounds(cut);
    if (bounds === undefined) throw new InvalidImageError('logo', 'is entirely white or transparent; there is no logo to place');
    const trimmed = cropRgba(cut, bounds);
    const scale = Math.min(maxWidth / trimmed.width, maxHeight / trimmed.height);
    const width = Math.max(1, Math.round(trimmed.width * scale));
    const height = Math.max(1, Math.round(trimmed.height * scale));
    const data = await sharp(trimmed.data, { raw: { width: trimmed.width, height: trimmed.height, channels: 4 } })
      .resize(width, height, { fit: 'fill' })
      .raw()
      .toBuffer();
    return { data, width, height };
  }
}

/** Kit fonts, parsed once each (a kit's font file rarely changes; a few kits per process at most). */
export const FONT_CACHE_MAX = 16;

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

/** Formats: width and height from 600 to 2048 (1.91:1 is 1200×628); otherwise the square `size`. */
function validateDimensions(request: AdRequest): { width: number; height: number } {
  if (request.width === undefined && request.height === undefined) {
    const size = validateSize(request.size);
    return { width: size, height: size };
  }
  for (const field of ['width', 'height'] as const) {
    const value = request[field];
    if (value === undefined || !Number.isInteger(value) || value < FORMAT_SIDE_MIN || value > AD_SIZE_MAX) {
      throw new InvalidAdRequestError(
        field,
        `must be an integer from ${FORMAT_SIDE_MIN} to ${AD_SIZE_MAX} (give width and height together), got ${String(value)}`,
      );
    }
  }
  return { width: request.width!, height: request.height! };
}

function validateLook(look: number | undefined): number {
  if (look === undefined) return 0;
  if (!Number.isInteger(look) || look < 0 || look > LOOK_MAX)
    throw new InvalidAdRequestError('look', `must be an integer from 0 to ${LOOK_MAX}, got ${String(look)}`);
  return look;
}

const clamp = (value: number, min: number, max: number): number => Math.min(max, Math.max(min, value));

interface CoveredSeed {
  /** RGB of the seed scaled to cover the format. */
  data: Buffer;
  width: number;
  height: number;
  seedWidth: number;
  seedHeight: number;
  scale: number;
}

/**
 * Crops of the covered seed: the window holding the most saliency first (libvips' attention
 * strategy put an animal's tail in frame and its face out on a demo photo; see README), then that window
 * shifted by a third of the slack on the free axis either way (the subject mostly stays in
 * frame, the picture reads differently).
 */
function cropCandidates(cover: CoveredSeed, map: SaliencyMap, width: number, height: number): Array<{ left: number; top: number }> {
  const freeX = cover.width - width;
  const freeY = cover.height - height;
  const best = mostSalientWindow(map, cover.width, cover.height, width, height);
  const out = [best];
  const distinct = Math.max(16, 0.1 * Math.max(freeX, freeY));
  for (const direction of [1, -1]) {
    const candidate = {
      left: clamp(Math.round(best.left + direction * freeX * CROP_SHIFT), 0, freeX),
      top: clamp(Math.round(best.top + direction * freeY * CROP_SHIFT), 0, freeY),
    };
    if (out.every((c) => Math.abs(c.left - candidate.left) + Math.abs(c.top - candidate.top) >= distinct)) out.push(candidate);
  }
  return out;
}

function extractRgb(data: Buffer, sourceWidth: number, crop: { left: number; top: number }, width: number, height: number): Buffer {
  const out = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    const from = ((crop.top + y) * sourceWidth + crop.left) * 3;
    data.copy(out, y * width * 3, from, from + width * 3);
  }
  return out;
}

interface Placement {
  corner: PackCorner;
  rect: Rect;
  saliency: number;
}

/** Ties go bottom-right (where readers' eyes finish), then bottom-left, then the top corners. */
const CORNER_PREFERENCE: Record<PackCorner, number> = { 'bottom-right': 0, 'bottom-left': 0.005, 'top-right': 0.03, 'top-left': 0.035 };

/**
 * The pack's candidate corners ranked by the saliency they would hide; `eligible` keeps those
 * not much worse than the best, so a variant may take another corner but not the subject.
 * Top corners only when there is no headline band up there.
 */
/** The pack box's size relative to the default (0.5–1.5); 1 when not given. */
function validatePackScale(scale: number | undefined): number {
  if (scale === undefined) return 1;
  if (!Number.isFinite(scale) || scale < 0.5 || scale > 1.5) throw new InvalidAdRequestError('packScale', 'must be between 0.5 and 1.5');
  return scale;
}

/**
 * A box of `size` in each of `corners` (inset by the margin), with the mean saliency it would hide
 * and its score (saliency plus the corner's preference), best first. The map is of the unmirrored
 * covered seed: a mirrored ad mirrors the rectangle instead of the map.
 */
function rankCorners(
  map: SaliencyMap,
  crop: { left: number; top: number },
  frame: { width: number; height: number; margin: number; mirrored: boolean },
  size: { width: number; height: number },
  corners: PackCorner[],
  preference: Record<PackCorner, number>,
): Array<{ corner: PackCorner; rect: Rect; saliency: number; score: number }> {
  const { width, height, margin, mirrored } = frame;
  return corners
    .map((corner) => {
      const rect: Rect = {
        left: isRight(corner) ? width - margin - size.width : margin,
        top: isTop(corner) ? margin : height - margin - size.height,
        width: size.width,
        height: size.height,
      };
      const left = mirrored ? width - rect.left - rect.width : rect.left;
      const saliency = meanSaliency(map, { left: crop.left + left, top: crop.top + rect.top, width: rect.width, height: rect.height });
      return { corner, rect, saliency, score: saliency + preference[corner] };
    })
    .sort((a, b) => a.score - b.score);
}

function rankedPlacements(
  map: SaliencyMap,
  crop: { left: number; top: number },
  width: number,
  height: number,
  margin: number,
  pack: { width: number; height: number },
  hasHeadline: boolean,
  mirrored = false,
  only?: PackCorner,
): { eligible: Placement[]; all: Placement[] } {
  // A corner asked for (an A/B configuration) is taken even under a headline: the caller chose it.
  const corners: PackCorner[] = only ? [only] : hasHeadline ? ['bottom-right', 'bottom-left'] : ['bottom-right', 'bottom-left', 'top-right', 'top-left'];
  const ranked = rankCorners(map, crop, { width, height, margin, mirrored }, pack, corners, CORNER_PREFERENCE);
  const best = ranked[0].saliency;
  const all = ranked.map(({ corner, rect, saliency }) => ({ corner, rect, saliency }));
  const eligible = all.filter((p) => p.saliency <= best * 1.5 + 0.05);
  // eligible first (ranked is sorted, so they are a prefix), then the corners that cover more
  return { eligible, all };
}

/**
 * Looks in order: (crop 0, best corner), then nearby pairs, by crop index + corner rank; the
 * corners that hide more of the subject come only after every eligible pair, so a job that asks
 * for more variants than a seed has good looks still gets pictures that differ (never a repeat).
 */
function lookPairs(eligiblePerCrop: number[], allPerCrop: number[]): Array<{ crop: number; placement: number }> {
  const pairs: Array<{ crop: number; placement: number; eligible: boolean }> = [];
  allPerCrop.forEach((count, crop) => {
    for (let placement = 0; placement < count; placement++) pairs.push({ crop, placement, eligible: placement < eligiblePerCrop[crop] });
  });
  return pairs
    .sort((a, b) => Number(b.eligible) - Number(a.eligible) || a.crop + a.placement - (b.crop + b.placement) || a.crop - b.crop)
    .map(({ crop, placement }) => ({ crop, placement }));
}

/** Saliency of the covered seed at about 160 cells on its long side. */
async function coverSaliency(cover: CoveredSeed): Promise<SaliencyMap> {
  const scale = Math.max(1, Math.round(Math.max(cover.width, cover.height) / 160));
  const w = Math.max(1, Math.round(cover.width / scale));
  const h = Math.max(1, Math.round(cover.height / scale));
  const small = await sharp(cover.data, { raw: { width: cover.width, height: cover.height, channels: 3 } })
    .resize(w, h, { fit: 'fill' })
    .raw()
    .toBuffer();
  return saliencyMap(small, w, h, cover.width / w);
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

/**
 * Our own limits (a pipeline timeout, a channel count) are worth repeating; libvips' decoder
 * messages name its internals (loaders, buffers) and are not, so they stay out of the answer.
 */
function plainCause(error: unknown): string {
  const message = reason(error);
  return /vips|load|jpeg|png|webp|buffer|read/i.test(message) ? '' : ` (${message})`;
}

function reason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0].slice(0, 200);
}

/** Blurred, offset, semi-transparent copy of the cut-out's alpha, clipped to the canvas. */
async function renderDropShadow(
  pack: RgbaImage,
  packRect: Rect,
  canvasWidth: number,
  canvasHeight: number,
  unit: number,
): Promise<{ image: RgbaImage; rect: Rect; offset: { x: number; y: number } }> {
  const sigma = unit * SHADOW_SIGMA;
  const pad = Math.ceil(3 * sigma);
  const offset = { x: Math.round(unit * SHADOW_OFFSET_X), y: Math.round(unit * SHADOW_OFFSET_Y) };
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
  const right = Math.min(canvasWidth, originLeft + paddedWidth);
  const bottom = Math.min(canvasHeight, originTop + paddedHeight);
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

/**
 * Headline centred at the top on a gradient that fades into the photo: dark behind light text,
 * light behind dark text. `reserve` px on each side stay free for a logo in a top corner.
 */
function headlineOverlay(
  text: string,
  width: number,
  canvasHeight: number,
  unit: number,
  margin: number,
  font: AdFont,
  colour: Rgb,
  reserve = 0,
): { svg: string; rect: Rect } {
  const measure = (line: string, size: number): number => font.measure(line, size);
  const maxWidth = width - 2 * margin - 2 * reserve;
  // A shorter band hides less of the photo, so two slightly smaller lines beat three big ones.
  const twoLines = fitText(text, {
    maxWidth,
    maxLines: 2,
    maxFontSize: Math.round(unit * HEADLINE_MAX_FONT),
    minFontSize: Math.round(unit * HEADLINE_TWO_LINE_MIN_FONT),
    measure,
  });
  const fitted = !twoLines.truncated
    ? twoLines
    : fitText(text, {
        maxWidth,
        maxLines: HEADLINE_MAX_LINES,
        maxFontSize: Math.round(unit * HEADLINE_TWO_LINE_MIN_FONT),
        minFontSize: Math.round(unit * HEADLINE_MIN_FONT),
        measure,
      });
  const fontSize = fitted.fontSize;
  const lineHeight = Math.round(fontSize * HEADLINE_LINE_HEIGHT);
  const firstBaseline = margin + Math.round(fontSize * 0.78);
  const textBottom = firstBaseline + (fitted.lines.length - 1) * lineHeight + Math.round(fontSize * 0.26);
  const height = Math.min(canvasHeight, textBottom + Math.round(unit * HEADLINE_FADE));
  const shadowShift = Math.max(1, Math.round(unit * 0.002));
  const light = relativeLuminance(colour) > 0.4;
  const band = light ? '#000000' : '#ffffff';
  const outlines = fitted.lines.map((line, i) => font.path(line, width / 2, firstBaseline + i * lineHeight, fontSize, 'middle'));
  const shadow = outlines.map((d) => `<path d="${d}"/>`).join('');
  const solidUntil = (textBottom / height).toFixed(3);
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    `<defs><linearGradient id="band" x1="0" y1="0" x2="0" y2="1">` +
    `<stop offset="0" stop-color="${band}" stop-opacity="0.62"/>` +
    `<stop offset="${solidUntil}" stop-color="${band}" stop-opacity="0.4"/>` +
    `<stop offset="1" stop-color="${band}" stop-opacity="0"/>` +
    `</linearGradient></defs>` +
    `<rect x="0" y="0" width="${width}" height="${height}" fill="url(#band)"/>` +
    `<g transform="translate(0 ${shadowShift})" fill="${band}" fill-opacity="0.35">${shadow}</g>` +
    `<g fill="${rgbCss(colour)}">${outlines.map((d) => `<path d="${d}"/>`).join('')}</g>` +
    `</svg>`;
  return { svg, rect: { left: 0, top: 0, width, height } };
}

/** Rounded pill in the lower corner on the other side from the pack, tinted with the brand's colour. */
function callToActionOverlay(
  text: string,
  width: number,
  height: number,
  unit: number,
  margin: number,
  packRect: Rect,
  corner: PackCorner,
  accent: Rgb,
  labelColour: Rgb,
  font: AdFont,
): { svg: string; rect: Rect } {
  const pillHeight = Math.round(unit * CTA_HEIGHT);
  const available = width - 2 * margin - packRect.width - Math.round(unit * CTA_GAP_TO_PACK);
  const maxFont = Math.round(unit * CTA_MAX_FONT);
  const paddingX = (fontSize: number): number => Math.round(fontSize * 1.1);
  const fitted = fitText(text, {
    maxWidth: available - 2 * paddingX(maxFont),
    maxLines: 1,
    maxFontSize: maxFont,
    minFontSize: Math.round(unit * CTA_MIN_FONT),
    step: 1,
    measure: (line, size) => font.measure(line, size),
  });
  const pillWidth = Math.min(available, Math.ceil(fitted.width) + 2 * paddingX(fitted.fontSize));
  const sigma = unit * CTA_SHADOW_SIGMA;
  const shadowDrop = Math.round(unit * CTA_SHADOW_OFFSET_Y);
  const extent = Math.ceil(3 * sigma) + shadowDrop;
  const pillLeft = isRight(corner) ? margin : width - margin - pillWidth;
  const pillTop = height - margin - pillHeight;
  const rect: Rect = {
    left: pillLeft - extent,
    top: pillTop - extent,
    width: pillWidth + 2 * extent,
    height: pillHeight + 2 * extent,
  };
  const pill = `x="${extent}" width="${pillWidth}" height="${pillHeight}" rx="${pillHeight / 2}"`;
  const fill = `rgb(${accent.r},${accent.g},${accent.b})`;
  // A baseline half the cap height below the middle centres the capitals optically.
  const baseline = extent + pillHeight / 2 + (fitted.fontSize * font.capHeightEm) / 2;
  const label = font.path(fitted.lines[0] ?? '', extent + pillWidth / 2, baseline, fitted.fontSize, 'middle');
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${rect.width}" height="${rect.height}"` +
    ` viewBox="0 0 ${rect.width} ${rect.height}">` +
    `<defs><filter id="soft" x="-20%" y="-50%" width="140%" height="200%">` +
    `<feGaussianBlur stdDeviation="${sigma.toFixed(2)}"/></filter></defs>` +
    `<rect ${pill} y="${extent + shadowDrop}" fill="#000000" fill-opacity="0.35" filter="url(#soft)"/>` +
    `<rect ${pill} y="${extent}" fill="${fill}"/>` +
    `<path d="${label}" fill="${rgbCss(labelColour)}"/>` +
    `</svg>`;
  return { svg, rect };
}

const WHITE: Rgb = { r: 255, g: 255, b: 255 };
const BLACK: Rgb = { r: 0, g: 0, b: 0 };
const rgbCss = ({ r, g, b }: Rgb): string => `rgb(${r},${g},${b})`;

function hexToRgb(hex: string): Rgb {
  const value = Number.parseInt(hex.slice(1), 16);
  return { r: (value >> 16) & 0xff, g: (value >> 8) & 0xff, b: value & 0xff };
}

const HEX_COLOUR = /^#[0-9a-fA-F]{6}$/;

function validateKitColours(colours: AdBrandKit['colours']): AdBrandKit['colours'] {
  for (const name of ['primary', 'secondary', 'text'] as const) {
    if (typeof colours?.[name] !== 'string' || !HEX_COLOUR.test(colours[name]))
      throw new InvalidAdRequestError(`brandKit.colours.${name}`, 'must be a hex colour #rrggbb');
  }
  return colours;
}

/** WCAG contrast ratio of two colours. */
function contrast(a: Rgb, b: Rgb): number {
  const [hi, lo] = [relativeLuminance(a), relativeLuminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** The first kit colour readable on the button (WCAG 3:1, large bold text), else white or black, whichever reads better. */
function labelColour(fill: Rgb, candidates: Rgb[]): Rgb {
  const readable = candidates.find((c) => contrast(c, fill) >= CTA_MIN_CONTRAST);
  if (readable) return readable;
  return contrastWithWhite(fill) >= contrast(BLACK, fill) ? WHITE : BLACK;
}

/** Top corners first (a logo reads best there), then the bottom ones. */
const LOGO_CORNER_PREFERENCE: Record<PackCorner, number> = { 'top-left': 0, 'top-right': 0.005, 'bottom-left': 0.03, 'bottom-right': 0.035 };

/** The corner, among those `taken` leaves, whose logo box hides the least saliency. */
function placeLogo(
  map: SaliencyMap,
  crop: { left: number; top: number },
  width: number,
  height: number,
  margin: number,
  logo: { width: number; height: number },
  taken: PackCorner[],
  mirrored: boolean,
): Rect & { corner: PackCorner } {
  const corners = (['top-left', 'top-right', 'bottom-left', 'bottom-right'] as PackCorner[]).filter((c) => !taken.includes(c));
  const best = rankCorners(map, crop, { width, height, margin, mirrored }, logo, corners, LOGO_CORNER_PREFERENCE)[0];
  return { ...best.rect, corner: best.corner };
}
