import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { before, describe, it } from 'node:test';

import sharp from 'sharp';

import type { AdBrandKit } from './ad-generator.port';
import { AdFont, DEFAULT_AD_FONT_FILE } from './ad-font';
import { InvalidAdRequestError, InvalidImageError } from './ad-request.errors';
import { LocalAdGenerator, type Rect } from './local-ad.generator';

/** Lobster (SIL OFL 1.1) from the @fontsource package: a script face nothing like DejaVu Sans Bold. */
const LOBSTER_WOFF2 = require.resolve('@fontsource/lobster/files/lobster-latin-400-normal.woff2');

interface RawImage {
  data: Buffer;
  width: number;
  height: number;
}

async function decode(png: Buffer): Promise<RawImage> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** Pixels of `rect` within `tolerance` (per channel) of `rgb`. */
function countColour(image: RawImage, rect: Rect, rgb: [number, number, number], tolerance = 6): number {
  let n = 0;
  for (let y = rect.top; y < rect.top + rect.height; y++) {
    for (let x = rect.left; x < rect.left + rect.width; x++) {
      const o = (y * image.width + x) * 3;
      if (
        Math.abs(image.data[o] - rgb[0]) <= tolerance &&
        Math.abs(image.data[o + 1] - rgb[1]) <= tolerance &&
        Math.abs(image.data[o + 2] - rgb[2]) <= tolerance
      )
        n++;
    }
  }
  return n;
}

/** Set of pixel offsets in `rect` that match `rgb`. */
function mask(image: RawImage, rect: Rect, rgb: [number, number, number], tolerance = 40): Set<number> {
  const out = new Set<number>();
  for (let y = rect.top; y < rect.top + rect.height; y++) {
    for (let x = rect.left; x < rect.left + rect.width; x++) {
      const o = (y * image.width + x) * 3;
      if (
        Math.abs(image.data[o] - rgb[0]) <= tolerance &&
        Math.abs(image.data[o + 1] - rgb[1]) <= tolerance &&
        Math.abs(image.data[o + 2] - rgb[2]) <= tolerance
      )
        out.add(y * image.width + x);
    }
  }
  return out;
}

const KIT_COLOURS = { primary: '#0a7d4f', secondary: '#f2c14e', text: '#ffd400' };

describe('LocalAdGenerator with a brand kit', () => {
  const generator = new LocalAdGenerator();
  let seed: Buffer;
  let brand: Buffer;
  let lobster: Buffer;
  let dejavu: Buffer;
  let logo: Buffer;

  before(async () => {
    // A flat blue-grey seed: nothing in it is yellow, green or magenta, so those pixels come from the kit.
    seed = await sharp({ create: { width: 1200, height: 1200, channels: 3, background: '#5a6470' } })
      .jpeg({ quality: 95 })
      .toBuffer();
    brand = await sharp(
      Buffer.from(
        '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400"><rect width="400" height="400" fill="#fff"/><rect x="100" y="80" width="200" height="240" fill="#1e50c8"/></svg>',
      ),
    )
      .png()
      .toBuffer();
    [lobster, dejavu] = await Promise.all([readFile(LOBSTER_WOFF2), readFile(DEFAULT_AD_FONT_FILE)]);
    // A magenta bar with transparent margins: trimmed to the bar and placed as drawn.
    logo = await sharp(
      Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="300" height="150"><rect x="30" y="40" width="240" height="70" fill="#ff00ff"/></svg>'),
    )
      .png()
      .toBuffer();
  });

  const kit = (overrides: Partial<AdBrandKit> = {}): AdBrandKit => ({ version: 7, colours: KIT_COLOURS, ...overrides });

  it('draws the headline with the font the kit carries: its letters appear, and two fonts draw different letters', async () => {
    const headline = 'Real food for every good dog';
    const [withLobster, withDejavu] = await Promise.all([
      generator.render({ seed, brand, headline, brandKit: kit({ font: lobster }) }),
      generator.render({ seed, brand, headline, brandKit: kit({ font: dejavu }) }),
    ]);
    const yellow: [number, number, number] = [0xff, 0xd4, 0x00];
    const band = (ad: typeof withLobster): Rect => ad.layout.headline ?? assert.fail('no headline band');
    const lobsterLetters = mask(await decode(withLobster.ad.png), band(withLobster), yellow);
    const dejavuLetters = mask(await decode(withDejavu.ad.png), band(withDejavu), yellow);
    assert.ok(lobsterLetters.size > 3000, `Lobster letters: ${lobsterLetters.size} yellow pixels`);
    assert.ok(dejavuLetters.size > 3000, `DejaVu letters: ${dejavuLetters.size} yellow pixels`);
    const shared = [...lobsterLetters].filter((p) => dejavuLetters.has(p)).length;
    const union = lobsterLetters.size + dejavuLetters.size - shared;
    assert.ok(shared / union < 0.5, `the two fonts share ${shared} of ${union} letter pixels`);
    assert.deepEqual(withLobster.ad.brandKit?.font, { name: 'Lobster Regular', sha256: AdFont.fromFile(lobster).sha256 });
  });

  it('without a kit draws with the bundled DejaVu Sans Bold, the same letters as a kit carrying that file', async () => {
    const headline = 'Same letters either way';
    const [plain, withDejavu] = await Promise.all([
      generator.render({ seed, brand, headline }),
      generator.render({ seed, brand, headline, brandKit: kit({ font: dejavu, colours: { ...KIT_COLOURS, text: '#ffffff' } }) }),
    ]);
    const band = plain.layout.headline ?? assert.fail('no band');
    const white: [number, number, number] = [255, 255, 255];
    const a = mask(await decode(plain.ad.png), band, white, 30);
    const b = mask(await decode(withDejavu.ad.png), band, white, 30);
    assert.ok(a.size > 3000, `${a.size} white letter pixels`);
    assert.deepEqual([...a].filter((p) => !b.has(p)).length, 0);
    assert.equal(plain.ad.brandKit, undefined);
  });

  it('fills the call-to-action button with the primary colour and sets its label in a kit colour that reads on it', async () => {
    const [branded, plain] = await Promise.all([
      generator.render({ seed, brand, callToAction: 'Shop now', brandKit: kit() }),
      generator.render({ seed, brand, callToAction: 'Shop now' }),
    ]);
    const pill = branded.layout.callToAction ?? assert.fail('no pill');
    const image = await decode(branded.ad.png);
    const primary = countColour(image, pill, [0x0a, 0x7d, 0x4f], 2);
    assert.ok(primary > 0.3 * pill.width * pill.height, `${primary} primary pixels of ${pill.width * pill.height}`);
    // #ffd400 on #0a7d4f reaches 3:1, so the label is in the kit's text colour.
    assert.ok(countColour(image, pill, [0xff, 0xd4, 0x00], 10) > 300, 'label letters in the text colour');
    const plainPill = plain.layout.callToAction ?? assert.fail('no pill');
    assert.equal(countColour(await decode(plain.ad.png), plainPill, [0x0a, 0x7d, 0x4f], 2), 0, 'without the kit the button takes the pack colour');
  });

  it('puts a dark band behind dark headline text and a light one behind light text', async () => {
    const headline = 'Contrast';
    const [dark, light] = await Promise.all([
      generator.render({ seed, brand, headline, brandKit: kit({ colours: { ...KIT_COLOURS, text: '#1a1a1a' } }) }),
      generator.render({ seed, brand, headline, brandKit: kit({ colours: { ...KIT_COLOURS, text: '#ffffff' } }) }),
    ]);
    // The band's top-left corner holds no letters: only the gradient over the seed (#5a6470).
    const corner = async (png: Buffer): Promise<number> => {
      const data = await sharp(png).extract({ left: 0, top: 0, width: 20, height: 20 }).removeAlpha().raw().toBuffer();
      let sum = 0;
      for (let i = 0; i < data.length; i += 3) sum += data[i];
      return sum / (data.length / 3);
    };
    assert.ok((await corner(dark.ad.png)) > 0x5a + 40, 'lightened behind dark text');
    assert.ok((await corner(light.ad.png)) < 0x5a - 20, 'darkened behind light text');
  });

  it('places the logo in a corner the pack and the call to action leave free, on the least salient one', async () => {
    // Busy detail in the top-left quarter of the seed; the rest is flat.
    const busy = await sharp(
      Buffer.from(
        '<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="1200"><rect width="1200" height="1200" fill="#5a6470"/>' +
          Array.from({ length: 20 }, (_, i) => `<rect x="${i * 15}" y="0" width="7" height="300" fill="#f0f0f0"/>`).join('') +
          '</svg>',
      ),
    )
      .jpeg({ quality: 95 })
      .toBuffer();
    const ad = await generator.render({ seed: busy, brand, callToAction: 'Shop now', brandKit: kit({ logo }) });
    const placed = ad.layout.logo ?? assert.fail('no logo');
    const ctaCorner = ad.layout.corner.endsWith('right') ? 'bottom-left' : 'bottom-right';
    assert.notEqual(placed.corner, ad.layout.corner);
    assert.notEqual(placed.corner, ctaCorner);
    assert.equal(placed.corner, 'top-right', 'the busy top-left is avoided');
    const image = await decode(ad.ad.png);
    const magenta = countColour(image, placed, [255, 0, 255], 8);
    assert.ok(magenta > 0.85 * placed.width * placed.height, `${magenta} logo pixels of ${placed.width * placed.height}`);
    assert.deepEqual(ad.ad.brandKit?.logoPlacement, { left: placed.left, top: placed.top, width: placed.width, height: placed.height });
  });

  it('keeps the headline clear of a logo in a top corner', async () => {
    const ad = await generator.render({
      seed,
      brand,
      headline: 'A long headline that would run across the whole top of the ad',
      callToAction: 'Go',
      brandKit: kit({ logo }),
    });
    const placed = ad.layout.logo ?? assert.fail('no logo');
    assert.ok(placed.corner.startsWith('top'), `logo at ${placed.corner}`);
    const image = await decode(ad.ad.png);
    const letters = mask(image, ad.layout.headline ?? assert.fail('no band'), [0xff, 0xd4, 0x00], 40);
    const inLogo = [...letters].filter((p) => {
      const x = p % image.width;
      const y = Math.floor(p / image.width);
      return x >= placed.left && x < placed.left + placed.width && y >= placed.top && y < placed.top + placed.height;
    });
    assert.ok(letters.size > 1000);
    assert.equal(inLogo.length, 0);
  });

  it('makes byte-identical ads from the same inputs and kit', async () => {
    const request = { seed, brand, headline: 'Twice', callToAction: 'Buy', brandKit: kit({ font: lobster, logo }) };
    const [a, b] = await Promise.all([generator.generate(request), new LocalAdGenerator().generate(request)]);
    assert.ok(a.png.equals(b.png));
  });

  it('refuses a kit with a bad colour, an unreadable font or logo, naming the field', async () => {
    await assert.rejects(
      generator.render({ seed, brand, brandKit: kit({ colours: { ...KIT_COLOURS, primary: 'green' } }) }),
      (e: unknown) => e instanceof InvalidAdRequestError && e.field === 'brandKit.colours.primary',
    );
    await assert.rejects(
      generator.render({ seed, brand, headline: 'x', brandKit: kit({ font: Buffer.from('not a font at all, just words') }) }),
      (e: unknown) => e instanceof InvalidAdRequestError && e.field === 'font',
    );
    await assert.rejects(
      generator.render({ seed, brand, brandKit: kit({ logo: Buffer.from('nope') }) }),
      (e: unknown) => e instanceof InvalidImageError && e.field === 'logo',
    );
  });
});

describe(AdFont.name, () => {
  it('measures with the font: the same text is wider in DejaVu Sans Bold than in Lobster', async () => {
    const lobster = AdFont.fromFile(await readFile(LOBSTER_WOFF2));
    const dejavu = AdFont.default();
    const text = 'Shop now';
    assert.ok(dejavu.measure(text, 40) > lobster.measure(text, 40) * 1.2, `${dejavu.measure(text, 40)} vs ${lobster.measure(text, 40)}`);
    assert.equal(dejavu.measure(text, 80), 2 * dejavu.measure(text, 40));
  });

  it('draws characters the kit font lacks with the default font instead of empty boxes', async () => {
    const lobster = AdFont.fromFile(await readFile(LOBSTER_WOFF2));
    // U+2192 (→) is not in Lobster's Latin subset but is in DejaVu Sans.
    const arrow = lobster.measure('\u2192', 40);
    assert.equal(arrow, AdFont.default().measure('\u2192', 40));
    assert.notEqual(lobster.path('\u2192', 0, 40, 40), '');
  });
});
