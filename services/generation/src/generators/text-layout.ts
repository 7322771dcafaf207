/**
 * Line breaking and sizing for SVG text. librsvg does not wrap text and sharp cannot report
 * text extents, so widths are estimated from the font's advance widths. The estimate ignores
 * kerning (which only narrows text) and charges unknown characters a wide advance, so a line
 * that "fits" here never renders wider than the box.
 */

/** The font the SVG text asks for; installed as fonts-dejavu-core on Debian. */
export const AD_FONT_FAMILY = 'DejaVu Sans';

/**
 * Advance widths (em) of DejaVu Sans Bold for U+0020..U+007E, read from the hmtx table of
 * DejaVuSans-Bold.ttf (2048 units per em).
 */
const DEJAVU_SANS_BOLD_ASCII_ADVANCES: readonly number[] = [
  0.348, 0.456, 0.521, 0.838, 0.696, 1.002, 0.872, 0.306, 0.457, 0.457, 0.523, 0.838, 0.38, 0.415, 0.38, 0.365, 0.696, 0.696, 0.696, 0.696, 0.696, 0.696, 0.696,
  0.696, 0.696, 0.696, 0.4, 0.4, 0.838, 0.838, 0.838, 0.58, 1, 0.774, 0.762, 0.734, 0.83, 0.683, 0.683, 0.821, 0.837, 0.372, 0.372, 0.775, 0.637, 0.995, 0.837,
  0.85, 0.733, 0.85, 0.77, 0.72, 0.682, 0.812, 0.774, 1.103, 0.771, 0.724, 0.725, 0.457, 0.365, 0.457, 0.838, 0.5, 0.5, 0.675, 0.716, 0.593, 0.716, 0.678,
  0.435, 0.716, 0.712, 0.343, 0.343, 0.665, 0.343, 1.042, 0.712, 0.687, 0.716, 0.716, 0.493, 0.595, 0.478, 0.712, 0.652, 0.924, 0.645, 0.652, 0.582, 0.712,
  0.365, 0.712, 0.838,
];

/** Widest advance in the font's Latin-1 range is 1.085 em; anything unknown may use a fallback font. */
const UNKNOWN_CHARACTER_ADVANCE = 1.15;

const ELLIPSIS = '\u2026';

/** Estimated rendered width in px of `text` in DejaVu Sans Bold at `fontSize` px. */
export function measureBoldText(text: string, fontSize: number): number {
  let em = 0;
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    em += code >= 0x20 && code <= 0x7e ? DEJAVU_SANS_BOLD_ASCII_ADVANCES[code - 0x20] : UNKNOWN_CHARACTER_ADVANCE;
  }
  return em * fontSize;
}

/** Trims, collapses whitespace and drops control characters, which SVG would render as boxes. */
export function normaliseAdText(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex -- control characters are what this drops
      .replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')
      .replace(/\s+/g, ' ')
      .trim()
  );
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

export interface TextFitOptions {
  maxWidth: number;
  maxLines: number;
  /** Font sizes are tried from largest to smallest, stepping by `step` px. */
  maxFontSize: number;
  minFontSize: number;
  step?: number;
  /** Width in px of a text at a font size; default: the DejaVu Sans Bold estimate above. */
  measure?: TextMeasure;
}

export type TextMeasure = (text: string, fontSize: number) => number;

export interface FittedText {
  lines: string[];
  fontSize: number;
  /** Widest estimated line, px. */
  width: number;
  /** True when the text did not fit even at `minFontSize` and was cut with an ellipsis. */
  truncated: boolean;
}

/**
 * Largest font size at which `text` wraps (at spaces) into at most `maxLines` lines of at most
 * `maxWidth` px. If nothing fits, the text is set at `minFontSize` and cut with an ellipsis,
 * breaking inside words if a single word is too long.
 */
export function fitText(text: string, options: TextFitOptions): FittedText {
  const step = options.step ?? 2;
  const measure = options.measure ?? measureBoldText;
  const words = normaliseAdText(text)
    .split(' ')
    .filter((w) => w.length > 0);
  if (words.length === 0) return { lines: [], fontSize: options.maxFontSize, width: 0, truncated: false };

  for (let size = options.maxFontSize; size >= options.minFontSize; size -= step) {
    const lines = wrapWords(words, size, options.maxWidth, measure);
    if (lines !== undefined && lines.length <= options.maxLines) {
      return { lines, fontSize: size, width: widestLine(lines, size, measure), truncated: false };
    }
  }
  const size = options.minFontSize;
  const lines = truncateToLines(words, size, options.maxWidth, options.maxLines, measure);
  return { lines, fontSize: size, width: widestLine(lines, size, measure), truncated: true };
}

function widestLine(lines: string[], fontSize: number, measure: TextMeasure): number {
  return Math.max(0, ...lines.map((line) => measure(line, fontSize)));
}

/** Greedy wrap; undefined when a single word is wider than the line. */
function wrapWords(words: string[], fontSize: number, maxWidth: number, measure: TextMeasure): string[] | undefined {
  const lines: string[] = [];
  let current = '';
  for (const word of words) {
    if (measure(word, fontSize) > maxWidth) return undefined;
    const candidate = current === '' ? word : `${current} ${word}`;
    if (measure(candidate, fontSize) <= maxWidth) {
      current = candidate;
    } else {
      lines.push(current);
      current = word;
    }
  }
  if (current !== '') lines.push(current);
  return lines;
}

/** Fills `maxLines` lines character by character at word boundaries where possible, ending in an ellipsis. */
function truncateToLines(words: string[], fontSize: number, maxWidth: number, maxLines: number, measure: TextMeasure): string[] {
  const lines: string[] = [];
  let remaining = words.join(' ');
  while (remaining.length > 0 && lines.length < maxLines) {
    const isLast = lines.length === maxLines - 1;
    if (!isLast || measure(remaining, fontSize) > maxWidth) {
      const budget = isLast ? maxWidth - measure(ELLIPSIS, fontSize) : maxWidth;
      const cut = longestPrefixWithin(remaining, fontSize, budget, measure);
      if (isLast) {
        lines.push(`${remaining.slice(0, cut).trimEnd()}${ELLIPSIS}`);
        return lines;
      }
      lines.push(remaining.slice(0, cut).trimEnd());
      remaining = remaining.slice(cut).trimStart();
    } else {
      lines.push(remaining);
      remaining = '';
    }
  }
  return lines;
}

/** Index to cut `text` at so the prefix fits `budget` px, preferring the last space. */
function longestPrefixWithin(text: string, fontSize: number, budget: number, measure: TextMeasure): number {
  const chars = Array.from(text);
  let width = 0;
  let fitChars = 0;
  let fitUnits = 0;
  for (const ch of chars) {
    const w = measure(ch, fontSize);
    if (width + w > budget) break;
    width += w;
    fitChars += 1;
    fitUnits += ch.length;
  }
  if (fitChars === chars.length) return text.length;
  const lastSpace = text.lastIndexOf(' ', fitUnits);
  return lastSpace > 0 ? lastSpace : Math.max(fitUnits, chars[0]?.length ?? 1);
}
