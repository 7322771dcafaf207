import sharp from 'sharp';

import { AD_FONT_FAMILY } from './text-layout';

/** Fictional brand used by the demo; any resemblance to a real product is unintended. */
export const DEMO_BRAND_NAME = 'Pawsome';
export const DEMO_BRAND_SIZE = 800;

/** Colours of the demo pack, exported so tests can look for them in generated ads. */
export const DEMO_BRAND_COLOURS = {
  body: '#16707a',
  bodyDark: '#0e4a51',
  accent: '#f59e38',
  kibble: '#8a4b1f',
} as const;

const POUCH_OUTLINE = 'M 186 150 L 614 150 Q 622 440 630 692 Q 632 730 594 730 L 206 730 Q 168 730 170 692 Q 178 440 186 150 Z';

/** A paw print centred on the origin, about 90 px wide. */
function pawIcon(fill: string): string {
  return (
    `<g fill="${fill}">` +
    `<ellipse cx="0" cy="20" rx="27" ry="22"/>` +
    `<ellipse cx="-32" cy="-10" rx="10" ry="13" transform="rotate(-22 -32 -10)"/>` +
    `<ellipse cx="-12" cy="-27" rx="10" ry="14"/>` +
    `<ellipse cx="12" cy="-27" rx="10" ry="14"/>` +
    `<ellipse cx="32" cy="-10" rx="10" ry="13" transform="rotate(22 32 -10)"/>` +
    `</g>`
  );
}

/** A food bowl with kibble, centred on the origin, about 120 px wide. */
function bowlIcon(): string {
  const { bodyDark, kibble } = DEMO_BRAND_COLOURS;
  const pieces = [
    [-34, -6],
    [-18, -14],
    [-2, -8],
    [14, -16],
    [30, -7],
    [-24, 2],
    [6, 1],
    [22, 3],
    [-8, -20],
  ]
    .map(([x, y]) => `<circle cx="${x}" cy="${y}" r="9" fill="${kibble}"/>`)
    .join('');
  return (
    `<g>${pieces}` +
    `<path d="M -58 4 L 58 4 Q 52 44 0 46 Q -52 44 -58 4 Z" fill="${bodyDark}"/>` +
    `<rect x="-64" y="0" width="128" height="10" rx="5" fill="${bodyDark}"/>` +
    `</g>`
  );
}

/** SVG source of the demo pack shot: a stand-up pouch of pet food on pure white. */
export function demoBrandPackSvg(): string {
  const { body, bodyDark, accent } = DEMO_BRAND_COLOURS;
  const crimps = Array.from({ length: 21 }, (_, i) => 194 + i * 20.6)
    .map((x) => `<line x1="${x.toFixed(1)}" y1="104" x2="${x.toFixed(1)}" y2="146" stroke="#ffffff" stroke-opacity="0.16" stroke-width="3"/>`)
    .join('');
  const font = `font-family="${AD_FONT_FAMILY}" font-weight="bold" text-anchor="middle"`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${DEMO_BRAND_SIZE}" height="${DEMO_BRAND_SIZE}" viewBox="0 0 800 800">` +
    `<defs>` +
    `<linearGradient id="bodyShade" x1="0" y1="0" x2="1" y2="0">` +
    `<stop offset="0" stop-color="${bodyDark}"/><stop offset="0.3" stop-color="${body}"/>` +
    `<stop offset="0.7" stop-color="${body}"/><stop offset="1" stop-color="${bodyDark}"/>` +
    `</linearGradient>` +
    `<clipPath id="pouch"><path d="${POUCH_OUTLINE}"/></clipPath>` +
    `</defs>` +
    `<rect width="800" height="800" fill="#ffffff"/>` +
    // Seal strip at the top of the pouch.
    `<rect x="180" y="96" width="440" height="60" rx="10" fill="${bodyDark}"/>${crimps}` +
    `<path d="${POUCH_OUTLINE}" fill="url(#bodyShade)"/>` +
    `<g clip-path="url(#pouch)">` +
    `<path d="M 150 612 C 260 572 360 640 460 606 C 540 580 600 590 660 600 L 660 760 L 150 760 Z" fill="${accent}"/>` +
    `<rect x="206" y="170" width="22" height="540" rx="11" fill="#ffffff" fill-opacity="0.12"/>` +
    `</g>` +
    // White label: enclosed by the pouch, so a background remover must keep it.
    `<rect x="220" y="205" width="360" height="300" rx="30" fill="#ffffff"/>` +
    `<g transform="translate(400 272)">${pawIcon(accent)}</g>` +
    `<text x="400" y="384" ${font} font-size="58" fill="${body}">${DEMO_BRAND_NAME}</text>` +
    `<rect x="300" y="402" width="200" height="5" rx="2.5" fill="${accent}"/>` +
    `<text x="400" y="440" ${font} font-size="19" fill="${bodyDark}">SALMON &amp; SWEET POTATO</text>` +
    `<text x="400" y="470" ${font} font-size="16" fill="${bodyDark}" letter-spacing="2">GRAIN-FREE RECIPE</text>` +
    `<text x="400" y="560" ${font} font-size="28" fill="#ffffff" letter-spacing="3">CATS &amp; DOGS</text>` +
    `<g transform="translate(300 668)">${bowlIcon()}</g>` +
    `<text x="512" y="690" ${font} font-size="40" fill="${bodyDark}">2 kg</text>` +
    // "New" roundel overlapping the label corner.
    `<circle cx="556" cy="214" r="46" fill="${accent}" stroke="#ffffff" stroke-width="5"/>` +
    `<text x="556" y="224" ${font} font-size="26" fill="#ffffff">NEW</text>` +
    `</svg>`
  );
}

/** PNG (800×800, opaque) of the demo pack shot; the demo's brand image. */
export async function renderDemoBrandPack(): Promise<Buffer> {
  return sharp(Buffer.from(demoBrandPackSvg())).flatten({ background: '#ffffff' }).png().toBuffer();
}
