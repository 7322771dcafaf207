import sharp from 'sharp';
import { ApiError } from './http-errors';

export interface InspectedImage {
  contentType: 'image/jpeg' | 'image/png' | 'image/webp';
  extension: 'jpg' | 'png' | 'webp';
  width: number;
  height: number;
}

/** What the bytes say they are; the file name and the client's content type are not trusted. */
export function sniffImageType(bytes: Buffer): InspectedImage['contentType'] | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (bytes.length >= 12 && bytes.toString('ascii', 0, 4) === 'RIFF' && bytes.toString('ascii', 8, 12) === 'WEBP') return 'image/webp';
  return undefined;
}

const EXTENSION = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp' } as const;
const TYPE_NAME = { 'image/jpeg': 'JPEG', 'image/png': 'PNG', 'image/webp': 'WebP' } as const;

/**
 * Sniffs, bounds and fully decodes an upload before anything is stored: the pixel bound is
 * checked from the header (no decode of a decompression bomb), then a full decode proves the
 * file is not truncated or corrupt.
 */
export async function inspectImage(bytes: Buffer, maxPixels: number, field = 'file'): Promise<InspectedImage> {
  const contentType = sniffImageType(bytes);
  if (!contentType) {
    throw new ApiError(415, 'unsupported_media_type', 'the file is not a JPEG, PNG or WebP image (checked by content, not by name)', [{ field, reason: 'unsupported type' }]);
  }
  let width: number | undefined;
  let height: number | undefined;
  try {
    ({ width, height } = await sharp(bytes, { limitInputPixels: false }).metadata());
  } catch {
    // libvips' own words name its internals (loaders, buffers); the caller needs only this.
    throw new ApiError(400, 'invalid_image', `the ${TYPE_NAME[contentType]} image header cannot be read: the file is damaged or not really a ${TYPE_NAME[contentType]}`, [{ field, reason: 'corrupt image' }]);
  }
  if (!width || !height) throw new ApiError(400, 'invalid_image', 'the image has no dimensions', [{ field, reason: 'corrupt image' }]);
  if (width * height > maxPixels) {
    throw new ApiError(413, 'image_too_large', `the image is ${width}×${height} = ${width * height} pixels; the limit is ${maxPixels}`, [{ field, reason: `more than ${maxPixels} pixels` }]);
  }
  try {
    await sharp(bytes, { limitInputPixels: maxPixels, failOn: 'truncated' }).raw().toBuffer({ resolveWithObject: false });
  } catch {
    throw new ApiError(400, 'invalid_image', `the ${TYPE_NAME[contentType]} image cannot be decoded: the file is truncated or corrupt`, [{ field, reason: 'corrupt image' }]);
  }
  return { contentType, extension: EXTENSION[contentType], width, height };
}
