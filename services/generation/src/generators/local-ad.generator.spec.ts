import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';

import sharp from 'sharp';

import type { AdRequest } from './ad-generator.port';
import { InvalidAdRequestError, InvalidImageError } from './ad-request.errors';
import { LocalAdGenerator, type Rect, type RenderedAd } from './local-ad.generator';

const SIZE = 1080;
const PACK_BLUE = [30, 80, 200] as const;

type Pixel = readonly [number, number, number];

interface RawImage {
  data: Buffer;
  width: number;
  height: number;
}

/** Seed with a known value at every pixel: red follows x, green follows y, blue is constant. */
function gradientSeedPixel(x: number, y: number, size: number): Pixel {
  return [Math.round((x * 255) / (size - 1)), Math.round((y * 255) / (size - 1)), 128];
}

async function gradientSeed(width: number, height: number): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      data.set(gradientSeedPixel(x, y, Math.max(width, height)), (y * width + x) * 3);
    }
  }
  return sharp(data, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

/**
 * 400×400 pack shot on white: a blue 200×240 box with a 60×60 white window in its middle.
 * The window is enclosed, so only a flood fill (not a threshold) keeps it.
 */
async function syntheticBrand(format: 'png' | 'jpeg' = 'png'): Promise<Buffer> {
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400">` +
    `<rect width="400" height="400" fill="#ffffff"/>` +
    `<rect x="100" y="80" width="200" height="240" fill="rgb(${PACK_BLUE.join(',')})"/>` +
    `<rect x="170" y="170" width="60" height="60" fill="#ffffff"/>` +
    `</svg>`;
  const image = sharp(Buffer.from(svg)).flatten({ background: '#ffffff' });
  return format === 'png' ? image.png().toBuffer() : image.jpeg({ quality: 80 }).toBuffer();
}

async function decode(png: Buffer): Promise<RawImage> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.channels, 3);
  return { data, width: info.width, height: info.height };
}

function pixelAt(image: RawImage, x: number, y: number): Pixel {
  const o = (Math.round(y) * image.width + Math.round(x)) * 3;
  return [image.data[o], image.data[o + 1], image.data[o + 2]];
}

function luma([r, g, b]: Pixel): number {
  return 0.299 * r + 0.587 * g + 0.114 * b;
}

function assertPixelNear(actual: Pixel, expected: Pixel, tolerance: number, where: string): void {
  const off = Math.max(...actual.map((v, i) => Math.abs(v - expected[i])));
  assert.ok(off <= tolerance, `${where}: got [${actual.join(',')}], expected [${expected.join(',')}] ±${tolerance}`);
}

function inside(rect: Rect, x: number, y: number): boolean {
  return x >= rect.left && x < rect.left + rect.width && y >= rect.top && y < rect.top + rect.height;
}

/** Pixels where two images of equal size differ by more than `threshold` in any channel. */
function differingPixels(a: RawImage, b: RawImage, threshold = 2): Array<{ x: number; y: number }> {
  const out: Array<{ x: number; y: number }> = [];
  for (let p = 0; p < a.width * a.height; p++) {
    const o = p * 3;
    if (
      Math.abs(a.data[o] - b.data[o]) > threshold ||
      Math.abs(a.data[o + 1] - b.data[o + 1]) > threshold ||
      Math.abs(a.data[o + 2] - b.data[o + 2]) > threshold
    ) {
      out.push({ x: p % a.width, y: Math.floor(p / a.width) });
    }
  }
  return out;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected the request to be rejected');
}

describe(LocalAdGenerator.name, () => {
  const generator = new LocalAdGenerator();
  let seed: Buffer;
  let brand: Buffer;
  let plain: RenderedAd;
  let plainImage: RawImage;

  before(async () => {
    [seed, brand] = await Promise.all([gradientSeed(SIZE, SIZE), syntheticBrand()]);
    plain = await generator.render({ seed, brand });
    plainImage = await decode(plain.ad.png);
  });

  it('returns a PNG of the requested size, named after the generator', async () => {
    assert.equal(plain.ad.generator, 'local-composite');
    assert.equal(generator.name, 'local-composite');
    const wide = await gradientSeed(1600, 900);
    const ad = await generator.generate({ seed: wide, brand, size: 1200 });
    const metadata = await sharp(ad.png).metadata();
    assert.equal(metadata.format, 'png');
    assert.deepEqual([metadata.width, metadata.height, ad.width, ad.height], [1200, 1200, 1200, 1200]);
    const defaultMetadata = await sharp(plain.ad.png).metadata();
    assert.deepEqual([defaultMetadata.width, defaultMetadata.height], [SIZE, SIZE]);
  });

  it('places the pack in a lower corner, inside the margin, at about 38% of the width', () => {
    const { pack, margin } = plain.layout;
    assert.equal(pack.top + pack.height, SIZE - margin);
    assert.ok(pack.left === margin || pack.left + pack.width === SIZE - margin, `pack at ${JSON.stringify(pack)}`);
    assert.ok(pack.width >= 0.35 * SIZE && pack.width <= 0.4 * SIZE, `pack width ${pack.width}`);
  });

  it('leaves the seed untouched away from the pack and its shadow', () => {
    const { shadow } = plain.layout;
    for (const [x, y] of [
      [10, 10],
      [500, 300],
      [SIZE - 1, 0],
      [100, SIZE - 1],
      [shadow.left - 3, shadow.top - 3],
    ]) {
      assertPixelNear(pixelAt(plainImage, x, y), gradientSeedPixel(x, y, SIZE), 1, `seed pixel (${x},${y})`);
    }
  });

  it("removes the brand's white background around the pack", () => {
    const { pack } = plain.layout;
    // Just above the pack the offset shadow has faded to ~2%, so the seed shows through unchanged.
    for (const fraction of [0.1, 0.5, 0.9]) {
      const x = pack.left + fraction * pack.width;
      const y = pack.top - 6;
      assertPixelNear(pixelAt(plainImage, x, y), gradientSeedPixel(Math.round(x), y, SIZE), 6, `above pack at ${fraction}`);
    }
    assertPixelNear(pixelAt(plainImage, pack.left + 0.15 * pack.width, pack.top + 0.15 * pack.height), PACK_BLUE, 3, 'pack body');
    assertPixelNear(pixelAt(plainImage, pack.left + 0.85 * pack.width, pack.top + 0.9 * pack.height), PACK_BLUE, 3, 'pack body');
  });

  it('keeps white that the product encloses (flood fill, not a threshold)', () => {
    const { pack } = plain.layout;
    const x = pack.left + pack.width / 2;
    const y = pack.top + pack.height / 2;
    assertPixelNear(pixelAt(plainImage, x, y), [255, 255, 255], 3, 'white window in the pack');
    assert.ok(luma(gradientSeedPixel(Math.round(x), Math.round(y), SIZE)) < 230, 'seed is not white there, so the check can fail');
  });

  it('copes with JPEG noise in the white background', async () => {
    const ad = await generator.render({ seed, brand: await syntheticBrand('jpeg') });
    const image = await decode(ad.ad.png);
    const { pack } = ad.layout;
    const x = pack.left + pack.width / 2;
    assertPixelNear(pixelAt(image, x, pack.top - 6), gradientSeedPixel(Math.round(x), pack.top - 6, SIZE), 6, 'above pack');
  });

  it('casts a soft shadow below and to the right of the pack', () => {
    const { pack, shadowOffset } = plain.layout;
    assert.ok(shadowOffset.x > 0 && shadowOffset.y > 0);
    const below: [number, number] = [pack.left + pack.width / 2, pack.top + pack.height + 5];
    const right: [number, number] = [pack.left + pack.width + 5, pack.top + pack.height / 2];
    for (const [x, y] of [below, right]) {
      const seedLuma = luma(gradientSeedPixel(Math.round(x), Math.round(y), SIZE));
      const adLuma = luma(pixelAt(plainImage, x, y));
      assert.ok(adLuma < seedLuma * 0.85, `(${x},${y}) luma ${adLuma.toFixed(1)} vs seed ${seedLuma.toFixed(1)}`);
    }
    // Soft: it fades out rather than ending in a hard edge.
    const far = pixelAt(plainImage, pack.left + pack.width / 2, pack.top + pack.height + shadowOffset.y + 20);
    const near = pixelAt(plainImage, pack.left + pack.width / 2, pack.top + pack.height + 5);
    assert.ok(luma(far) > luma(near), 'shadow gets lighter away from the pack');
  });

  it('puts the pack in the lower corner with less detail', async () => {
    // Busy checkerboard bottom-right, flat elsewhere: the pack should avoid covering the detail.
    const data = Buffer.alloc(SIZE * SIZE * 3, 90);
    for (let y = SIZE / 2; y < SIZE; y++) {
      for (let x = SIZE / 2; x < SIZE; x++) {
        if (((x >> 3) + (y >> 3)) % 2 === 0) data.fill(220, (y * SIZE + x) * 3, (y * SIZE + x) * 3 + 3);
      }
    }
    const busyRight = await sharp(data, { raw: { width: SIZE, height: SIZE, channels: 3 } })
      .png()
      .toBuffer();
    assert.equal((await generator.render({ seed: busyRight, brand })).layout.corner, 'bottom-left');
    const mirrored = await sharp(busyRight).flop().png().toBuffer();
    assert.equal((await generator.render({ seed: mirrored, brand })).layout.corner, 'bottom-right');
  });

  describe('text', () => {
    const longHeadline = 'WWWWWWWW MMMMMMMM WWWWWWWW MMMMMMMM WWWWWWWW MMMMMMMM WWWWWWWW MMMMMMMM WWWWWWWW MMMMMMMM WWWWWWWW';
    let withHeadline: RenderedAd;
    let withCallToAction: RenderedAd;

    before(async () => {
      [withHeadline, withCallToAction] = await Promise.all([
        generator.render({ seed, brand, headline: 'Fresh <food> & "treats" for every good dog' }),
        generator.render({ seed, brand, callToAction: 'Shop now' }),
      ]);
    });

    it('changes the image only inside the headline band, and visibly so', async () => {
      const band = withHeadline.layout.headline;
      assert.ok(band !== undefined);
      assert.ok(band.height < 0.35 * SIZE, `band height ${band.height}`);
      const changed = differingPixels(await decode(withHeadline.ad.png), plainImage);
      assert.ok(changed.length > 0.2 * band.width * band.height, `only ${changed.length} pixels changed`);
      assert.deepEqual(
        changed.filter(({ x, y }) => !inside(band, x, y)),
        [],
      );
    });

    it('changes the image only inside the call-to-action pill, clear of the pack', async () => {
      const pill = withCallToAction.layout.callToAction;
      assert.ok(pill !== undefined);
      const changed = differingPixels(await decode(withCallToAction.ad.png), plainImage);
      assert.ok(changed.length > 0.3 * pill.width * pill.height, `only ${changed.length} pixels changed`);
      assert.deepEqual(
        changed.filter(({ x, y }) => !inside(pill, x, y)),
        [],
      );
      const { pack } = withCallToAction.layout;
      const overlaps = pill.left < pack.left + pack.width && pack.left < pill.left + pill.width;
      assert.ok(!overlaps, `pill ${JSON.stringify(pill)} overlaps pack ${JSON.stringify(pack)}`);
    });

    it('wraps and shrinks a long headline so its letters stay inside the margins', async () => {
      const ad = await generator.render({ seed, brand, headline: longHeadline });
      const band = ad.layout.headline;
      assert.ok(band !== undefined && band.height < 0.4 * SIZE, `band ${JSON.stringify(band)}`);
      const image = await decode(ad.ad.png);
      // White letters are far brighter than the darkened seed under the band.
      const letters = [];
      for (let y = 0; y < band.height; y++) {
        for (let x = 0; x < SIZE; x++) {
          if (luma(pixelAt(image, x, y)) > luma(pixelAt(plainImage, x, y)) + 40) letters.push(x);
        }
      }
      assert.ok(letters.length > 1000, 'headline letters were drawn');
      const { margin } = ad.layout;
      assert.ok(
        Math.min(...letters) >= margin - 2 && Math.max(...letters) <= SIZE - margin + 2,
        `letters span x=${Math.min(...letters)}..${Math.max(...letters)}, margin ${margin}`,
      );
    });

    it('keeps a long call to action inside its pill and the canvas', async () => {
      const ad = await generator.render({ seed, brand, callToAction: 'Order your first bag with free delivery!' });
      const pill = ad.layout.callToAction;
      assert.ok(pill !== undefined);
      assert.ok(pill.left >= 0 && pill.top >= 0 && pill.left + pill.width <= SIZE && pill.top + pill.height <= SIZE);
      const changed = differingPixels(await decode(ad.ad.png), plainImage);
      assert.deepEqual(
        changed.filter(({ x, y }) => !inside(pill, x, y)),
        [],
      );
    });

    it('treats blank text as absent', async () => {
      const ad = await generator.render({ seed, brand, headline: '  \n ', callToAction: '' });
      assert.equal(ad.layout.headline, undefined);
      assert.equal(ad.layout.callToAction, undefined);
      assert.ok(ad.ad.png.equals(plain.ad.png));
    });
  });

  it('is deterministic: the same request gives the same bytes', async () => {
    const request: AdRequest = { seed, brand, headline: 'Same every time', callToAction: 'Buy' };
    const [first, second] = await Promise.all([generator.generate(request), new LocalAdGenerator().generate(request)]);
    assert.ok(first.png.equals(second.png));
    const again = await generator.generate(request);
    assert.ok(first.png.equals(again.png));
  });

  describe('rejects bad input', () => {
    async function expectImageError(request: AdRequest, field: string, pattern: RegExp, target = generator): Promise<void> {
      const error = await rejection(target.generate(request));
      assert.ok(error instanceof InvalidImageError, `got ${String(error)}`);
      assert.equal(error.field, field);
      assert.match(error.message, pattern);
    }

    it('corrupt bytes', async () => {
      await expectImageError({ seed: Buffer.from('definitely not an image'), brand }, 'seed', /not a readable image/);
    });

    it('zero-size input', async () => {
      await expectImageError({ seed, brand: Buffer.alloc(0) }, 'brand', /empty/);
    });

    it('truncated JPEG', async () => {
      const jpeg = await sharp(seed).jpeg().toBuffer();
      await expectImageError({ seed: jpeg.subarray(0, Math.floor(jpeg.length / 2)), brand }, 'seed', /could not be decoded/);
      const error = await rejection(generator.generate({ seed: jpeg.subarray(0, Math.floor(jpeg.length / 2)), brand }));
      assert.doesNotMatch((error as Error).message, /vips|jpeg_|premature|: [a-z]+load/i, 'a plain message, without libvips internals');
    });

    it('images over the pixel limit, before decoding them', async () => {
      const small = new LocalAdGenerator({ maxInputPixels: 500 * 500 });
      await expectImageError({ seed: await gradientSeed(600, 500), brand }, 'seed', /600×500 = 300000 pixels; the limit is 250000/, small);
    });

    it('SVG, which could reference external files', async () => {
      const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>');
      await expectImageError({ seed, brand: svg }, 'brand', /format "svg"/);
    });

    it('a brand image with nothing but white', async () => {
      const white = await sharp({ create: { width: 50, height: 50, channels: 3, background: '#ffffff' } })
        .png()
        .toBuffer();
      await expectImageError({ seed, brand: white }, 'brand', /entirely white/);
    });

    it('out-of-range size and over-long text, naming the field', async () => {
      for (const [request, field] of [
        [{ seed, brand, size: 1000 }, 'size'],
        [{ seed, brand, size: 4096 }, 'size'],
        [{ seed, brand, size: 1080.5 }, 'size'],
        [{ seed, brand, headline: 'x'.repeat(141) }, 'headline'],
        [{ seed, brand, callToAction: 'x'.repeat(41) }, 'callToAction'],
      ] as Array<[AdRequest, string]>) {
        const error = await rejection(generator.generate(request));
        assert.ok(error instanceof InvalidAdRequestError && !(error instanceof InvalidImageError), `got ${String(error)}`);
        assert.equal(error.field, field);
      }
    });
  });
});
