import sharp from 'sharp';
import { ApiError } from './http-errors';

export interface InspectedImage {
  contentType: 'image/jpeg' | 'image/png' | 'image/webp';
  extension: 'jpg' | 'png' | 'webp';
  width: number;
  height: number;
}

const EXTENSION = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp' } as const;
const TYPE_NAME = { 'image/jpeg': 'JPEG', 'image/png': 'PNG', 'image/webp': 'WebP' } as const;
const CONTENT_TYPE: Partial<Record<string, InspectedImage['contentType']>> = { jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp' };
/** sharp's words when no loader recognises the bytes (as opposed to a loader failing on them). */
const NOT_AN_IMAGE = /unsupported image format|Input Buffer is empty/;

/**
 * Identifies, bounds and fully decodes an upload before anything is stored. The type is what
 * libvips recognises in the bytes (sharp's `metadata()`, which reads only the header); the file
 * name and the client's content type are not trusted. The pixel bound is checked from the header
 * (no decode of a decompression bomb), then a full decode proves the file is not truncated or
 * corrupt. Formats other than JPEG, PNG and WebP (GIF, TIFF, SVG, HEIF…) are refused after the
 * header read, before any decode.
 */
export async function inspectImage(bytes: Buffer, maxPixels: number, field = 'file'): Promise<InspectedImage> {
  const unsupported = () =>
    new ApiError(415, 'unsupported_media_type', 'the file is not a JPEG, PNG or WebP image (checked by content, not by name)', [
      { field, reason: 'unsupported type' },
    ]);
  let format: string | undefined;
  let width: number | undefined;
  let height: number | undefined;
  try {
    ({ format, width, height } = await sharp(bytes, { limitInputPixels: false }).metadata());
  } catch (error) {
    if (NOT_AN_IMAGE.test((error as Error).message)) throw unsupported();
    // libvips' own words name its internals (loaders, buffers); the caller needs only this.
    throw new ApiError(400, 'invalid_image', 'the image header cannot be read: the file is damaged or not really a JPEG, PNG or WebP image', [
      { field, reason: 'corrupt image' },
    ]);
  }
  const contentType = format ? CONTENT_TYPE[format] : undefined;
  if (!contentType) throw unsupported();
  if (!width || !height) throw new ApiError(400, 'invalid_image', 'the image has no dimensions', [{ field, reason: 'corrupt image' }]);
  if (width * height > maxPixels) {
    throw new ApiError(413, 'image_too_large', `the image is ${width}×${height} = ${width * height} pixels; the limit is ${maxPixels}`, [
      { field, reason: `more than ${maxPixels} pixels` },
    ]);
  }
  try {
    await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'truncated' }).raw().toBuffer({ resolveWithObject: false });
  } catch {
    throw new ApiError(400, 'invalid_image', `the ${TYPE_NAME[contentType]} image cannot be decoded: the file is truncated or corrupt`, [
      { field, reason: 'corrupt image' },
    ]);
  }
  return { contentType, extension: EXTENSION[contentType], width, height };
}
