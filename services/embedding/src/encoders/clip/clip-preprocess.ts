import sharp from 'sharp';

import { RawImage, resizeCropBicubicLikePillow } from './pillow-resample';

/** CLIP ViT-B/32 input side (preprocessor_config.json: shortest_edge and crop_size). */
export const CLIP_IMAGE_SIZE = 224;
export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

/** Refuse decoding images above this many pixels unless the caller raises it (decompression bombs). */
export const DEFAULT_MAX_PIXELS = 50_000_000;

export interface ClipPreprocessOptions {
  /** Largest width × height accepted before decoding; default 50 megapixels. */
  readonly maxPixels?: number;
}

/**
 * Composites RGBA onto white and drops alpha with Pillow's integer arithmetic
 * (`Image.alpha_composite(white, im).convert("RGB")`, as transformers' convert_to_rgb does),
 * so transparent images match the reference pixel for pixel.
 */
function flattenOnWhiteLikePillow(rgba: Uint8Array, pixels: number): Uint8Array {
  const rgb = new Uint8Array(pixels * 3);
  const shiftForDiv255 = (v: number): number => ((v >>> 8) + v) >>> 8;
  for (let i = 0; i < pixels; i++) {
    const a = rgba[i * 4 + 3];
    for (let c = 0; c < 3; c++) {
      if (a === 0) {
        rgb[i * 3 + c] = 255;
        continue;
      }
      // Over an opaque background Pillow's 7-bit coefficients reduce to a·128 and (255−a)·128.
      const tmp = rgba[i * 4 + c] * a * 128 + 255 * (255 - a) * 128;
      rgb[i * 3 + c] = shiftForDiv255(tmp + (0x80 << 7)) >>> 7;
    }
  }
  return rgb;
}

/**
 * Number of colour components a JPEG declares in its frame header (4 for CMYK/YCCK), or
 * undefined when the bytes are not a JPEG or the header cannot be found.
 */
export function jpegComponentCount(bytes: Uint8Array): number | undefined {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  let at = 2;
  while (at + 9 < bytes.length) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1];
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC): precision, height, width, components.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return bytes[at + 9];
    if (marker === 0xd9 || marker === 0xda) return undefined;
    at += 2 + ((bytes[at + 2] << 8) | bytes[at + 3]);
  }
  return undefined;
}

/** Pillow's CMYK → RGB (`cmyk2rgb`): no colour management, R = (255 − K) − C·(255 − K)/255. */
function cmykToRgbLikePillow(cmyk: Uint8Array, pixels: number): Uint8Array {
  const rgb = new Uint8Array(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    const nk = 255 - cmyk[i * 4 + 3];
    for (let c = 0; c < 3; c++) {
      const t = cmyk[i * 4 + c] * nk + 128;
      rgb[i * 3 + c] = nk - (((t >> 8) + t) >> 8);
    }
  }
  return rgb;
}

/**
 * Decodes an image file to 8-bit RGB the way the Hugging Face reference sees it through Pillow:
 * EXIF orientation applied, alpha composited onto white, embedded ICC profiles ignored (Pillow
 * does not apply them; sharp would), CMYK converted with Pillow's naive formula.
 */
export async function decodeRgb(bytes: Buffer, opts: ClipPreprocessOptions = {}): Promise<RawImage> {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const cmyk = jpegComponentCount(bytes) === 4;
  let decoded;
  try {
    const image = sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error', ignoreIcc: true }).rotate();
    // CMYK stays CMYK (libvips would convert through a CMYK profile); converted below.
    const converted = cmyk ? image.pipelineColourspace('cmyk').toColourspace('cmyk') : image.toColourspace('srgb');
    decoded = await converted.raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    const message = (err as Error).message;
    if (/pixel limit/i.test(message)) {
      throw new Error(`image has more than ${maxPixels} pixels; shrink it or raise maxPixels`);
    }
    throw new Error(`cannot decode image (${bytes.length} bytes): ${message}`);
  }
  const { data, info } = decoded;
  const pixels = info.width * info.height;
  const bytesView = new Uint8Array(data.buffer, data.byteOffset, data.length);
  const size = { width: info.width, height: info.height, channels: 3 };
  if (cmyk && info.channels === 4) return { data: cmykToRgbLikePillow(bytesView, pixels), ...size };
  if (info.channels === 3) return { data: bytesView, ...size };
  if (info.channels === 4) return { data: flattenOnWhiteLikePillow(bytesView, pixels), ...size };
  throw new Error(`cannot decode image (${bytes.length} bytes): ${info.channels} channels after sRGB conversion, expected 3 or 4`);
}

/** Size after "shortest edge → 224", with the long side truncated as transformers does. */
export function clipResizeTarget(width: number, height: number, size = CLIP_IMAGE_SIZE): { width: number; height: number } {
  if (width <= height) return { width: size, height: Math.trunc((size * height) / width) };
  return { width: Math.trunc((size * width) / height), height: size };
}

/**
 * Float of every 8-bit level per channel, computed as transformers does it, so tensors match
 * bit for bit: rescale in float64 (`level * (1/255)`) cast to float32, then normalise in float32
 * (`(x - mean) / std` with mean and std as float32). One double op on float32 operands rounded
 * to float32 equals the float32 op, hence each Math.fround.
 */
const LEVEL_TO_INPUT: readonly Float32Array[] = [0, 1, 2].map((c) => {
  const mean = Math.fround(CLIP_MEAN[c]);
  const std = Math.fround(CLIP_STD[c]);
  return Float32Array.from({ length: 256 }, (_, v) => Math.fround(Math.fround(Math.fround(v * (1 / 255)) - mean) / std));
});

/**
 * RGB pixels → CLIP's input tensor: shortest edge to 224 (Pillow bicubic), centre crop 224×224,
 * ×1/255, per-channel mean/std; laid out CHW as float32, into `out` when given (a slot of a batch).
 */
export function rgbToClipTensor(rgb: RawImage, size = CLIP_IMAGE_SIZE, out = new Float32Array(3 * size * size)): Float32Array {
  const target = clipResizeTarget(rgb.width, rgb.height, size);
  const crop = { top: Math.floor((target.height - size) / 2), left: Math.floor((target.width - size) / 2), width: size, height: size };
  const plane = size * size;
  if (out.length !== 3 * plane) throw new Error(`rgbToClipTensor: output holds ${out.length} floats, expected ${3 * plane}`);
  const [r, g, b] = LEVEL_TO_INPUT;
  // Only the cropped window is resampled; each finished row is normalised straight into CHW.
  resizeCropBicubicLikePillow(rgb, target.width, target.height, crop, (y, row) => {
    let o = y * size;
    for (let p = 0; p < size * 3; p += 3, o++) {
      out[o] = r[row[p]];
      out[plane + o] = g[row[p + 1]];
      out[2 * plane + o] = b[row[p + 2]];
    }
  });
  return out;
}

/** Image file bytes (JPEG/PNG/WebP/…) → CLIP input tensor [3,224,224] (CHW, float32). */
export async function preprocessForClip(bytes: Buffer, opts: ClipPreprocessOptions = {}): Promise<Float32Array> {
  return rgbToClipTensor(await decodeRgb(bytes, opts));
}
