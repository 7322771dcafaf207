import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { InvalidAdRequestError } from './ad-request.errors';

/**
 * Text for ads is drawn as vector outlines taken from a font file, not as SVG `<text>`: librsvg
 * would look the family up through fontconfig, which finds nothing in a slim container image
 * and cannot be pointed at a tenant's uploaded file. Outlines render the same everywhere, and
 * the widths used for line breaking are the font's own advances (with kerning), not estimates.
 */

/** The subset of fontkit (MIT) this file uses; the package ships no type declarations. */
interface FontkitPath {
  scale(x: number, y: number): FontkitPath;
  translate(x: number, y: number): FontkitPath;
  toSVG(): string;
}
interface FontkitGlyph {
  path: FontkitPath;
}
interface FontkitRun {
  glyphs: FontkitGlyph[];
  positions: Array<{ xAdvance: number; yAdvance: number; xOffset: number; yOffset: number }>;
  advanceWidth: number;
}
interface FontkitFont {
  type?: string;
  familyName?: string;
  fullName?: string;
  postscriptName?: string;
  unitsPerEm: number;
  capHeight?: number;
  ascent: number;
  hasGlyphForCodePoint(codePoint: number): boolean;
  layout(text: string): FontkitRun;
}
interface Fontkit {
  create(data: Buffer): FontkitFont | { fonts: FontkitFont[] };
}
const fontkit = createRequire(__filename)('fontkit') as Fontkit;

/** DejaVu Sans Bold (Bitstream Vera licence, see assets/fonts/DejaVu-LICENSE.txt): the compositor's font without a brand kit. */
export const DEFAULT_AD_FONT_FILE = join(__dirname, '..', '..', 'assets', 'fonts', 'DejaVuSans-Bold.ttf');

export type TextAnchor = 'start' | 'middle';

export class AdFont {
  private static fallback: AdFont | undefined;
  readonly name: string;
  readonly sha256: string;

  private constructor(
    private readonly font: FontkitFont,
    data: Buffer,
  ) {
    this.name = font.fullName ?? font.familyName ?? font.postscriptName ?? 'unnamed font';
    this.sha256 = createHash('sha256').update(data).digest('hex');
  }

  /** Parses a TTF, OTF, WOFF or WOFF2 file; a collection or an unreadable file is refused. */
  static fromFile(data: Buffer, field = 'font'): AdFont {
    let parsed: FontkitFont | { fonts: FontkitFont[] };
    try {
      parsed = fontkit.create(data);
    } catch (error) {
      throw new InvalidAdRequestError(field, `is not a readable font (${error instanceof Error ? error.message : String(error)})`);
    }
    if (!('unitsPerEm' in parsed) || typeof parsed.layout !== 'function')
      throw new InvalidAdRequestError(field, 'is a font collection; use a single font file');
    return new AdFont(parsed, data);
  }

  /** The bundled default, read once per process. */
  static default(): AdFont {
    AdFont.fallback ??= AdFont.fromFile(readFileSync(DEFAULT_AD_FONT_FILE), 'default font');
    return AdFont.fallback;
  }

  /** Height of capitals as a share of the font size (0.7 when the font does not say). */
  get capHeightEm(): number {
    const cap = this.font.capHeight;
    return cap && cap > 0 ? cap / this.font.unitsPerEm : 0.7;
  }

  /** Rendered width of `text` in px at `fontSize`, with the default font for characters this one lacks. */
  measure(text: string, fontSize: number): number {
    return this.runs(text).reduce((width, run) => width + (run.font.font.layout(run.text).advanceWidth / run.font.font.unitsPerEm) * fontSize, 0);
  }

  /** SVG path data of one line of `text`, its baseline at `y`, starting at `x` or centred on it. */
  path(text: string, x: number, y: number, fontSize: number, anchor: TextAnchor = 'start'): string {
    let pen = anchor === 'middle' ? x - this.measure(text, fontSize) / 2 : x;
    const parts: string[] = [];
    for (const run of this.runs(text)) {
      const layout = run.font.font.layout(run.text);
      const scale = fontSize / run.font.font.unitsPerEm;
      layout.glyphs.forEach((glyph, i) => {
        const position = layout.positions[i];
        const d = glyph.path
          .scale(scale, -scale)
          .translate(pen + position.xOffset * scale, y - position.yOffset * scale)
          .toSVG();
        if (d) parts.push(d);
        pen += position.xAdvance * scale;
      });
    }
    return parts.join('');
  }

  /** Splits `text` into runs this font can draw and runs the default font draws instead. */
  private runs(text: string): Array<{ font: AdFont; text: string }> {
    const fallback = AdFont.default();
    const runs: Array<{ font: AdFont; text: string }> = [];
    for (const ch of text) {
      const code = ch.codePointAt(0) ?? 0;
      const font = this === fallback || ch === ' ' || this.font.hasGlyphForCodePoint(code) ? this : fallback;
      const last = runs[runs.length - 1];
      if (last && last.font === font) last.text += ch;
      else runs.push({ font, text: ch });
    }
    return runs;
  }
}
