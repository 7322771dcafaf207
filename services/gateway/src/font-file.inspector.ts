import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { FontFormat } from '@adseed/contracts';
import { ApiError } from './http-errors';

/** The subset of fontkit (MIT) used here; the package ships no type declarations. */
interface FontkitFont {
  familyName?: string;
  fullName?: string;
  postscriptName?: string;
  unitsPerEm?: number;
  hasGlyphForCodePoint(codePoint: number): boolean;
  layout(text: string): { advanceWidth: number; glyphs: Array<{ path: { toSVG(): string } }> };
}
const fontkit = createRequire(__filename)('fontkit') as { create(data: Buffer): FontkitFont | { fonts: unknown[] } };

export interface InspectedFont {
  format: FontFormat;
  family: string;
  name: string;
  sha256: string;
  bytes: number;
}

/** Characters every kit font must draw: the generator falls back to its own font for others, not for these. */
const REQUIRED = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** The container by its signature, never by the file name. */
function sniff(data: Buffer): FontFormat | 'collection' | undefined {
  const tag = data.subarray(0, 4).toString('latin1');
  if (tag === 'wOF2') return 'woff2';
  if (tag === 'wOFF') return 'woff';
  if (tag === 'OTTO') return 'otf';
  if (tag === 'ttcf') return 'collection';
  if (data.readUInt32BE(0) === 0x00010000 || tag === 'true') return 'ttf';
  return undefined;
}

/**
 * A font the generator can render: a single TTF, OTF, WOFF or WOFF2 font (parsed, so a renamed
 * file or a damaged table is refused), under the size limit, drawing the Latin letters and digits.
 */
export function inspectFont(data: Buffer, maxBytes: number, field = 'file'): InspectedFont {
  if (data.length > maxBytes)
    throw new ApiError(413, 'font_too_large', `the font is ${data.length} bytes; the limit is ${maxBytes}`, [{ field, reason: `more than ${maxBytes} bytes` }]);
  const format = data.length >= 12 ? sniff(data) : undefined;
  const unsupported = (reason: string): ApiError =>
    new ApiError(415, 'unsupported_font', `${reason}; send a TTF, OTF, WOFF or WOFF2 font file`, [{ field, reason }]);
  if (format === undefined) throw unsupported('not a font file');
  if (format === 'collection') throw unsupported('a font collection (TTC); send one font of it');
  let font: FontkitFont;
  try {
    const parsed = fontkit.create(data);
    if (!('layout' in parsed)) throw unsupported('a font collection; send one font of it');
    font = parsed;
    // Laying out and drawing every required glyph reads the tables the generator will read.
    const run = font.layout(REQUIRED);
    if (!(run.advanceWidth > 0) || !(font.unitsPerEm && font.unitsPerEm > 0)) throw new Error('no advance widths');
    for (const glyph of run.glyphs) glyph.path.toSVG();
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw unsupported(`the ${format.toUpperCase()} file could not be read (${error instanceof Error ? error.message.slice(0, 120) : 'unreadable'})`);
  }
  const missing = [...REQUIRED].filter((ch) => !font.hasGlyphForCodePoint(ch.codePointAt(0) ?? 0));
  if (missing.length > 0) throw unsupported(`the font has no glyph for ${missing.slice(0, 12).join(' ')}${missing.length > 12 ? ' …' : ''}`);
  const family = (font.familyName ?? font.postscriptName ?? 'unnamed').slice(0, 200);
  return {
    format,
    family,
    name: (font.fullName ?? family).slice(0, 200),
    sha256: createHash('sha256').update(data).digest('hex'),
    bytes: data.length,
  };
}
