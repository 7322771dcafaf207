import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { before, describe, it } from 'node:test';

import { AD_FORMAT_SIZES, AdFormat } from '@adseed/contracts';
import sharp from 'sharp';

import { LocalAdGenerator } from './local-ad.generator';

/** A grey scene with one red "subject" disc at (cx, cy) of radius r, on a faint texture. */
async function sceneWithSubject(width: number, height: number, cx: number, cy: number, r: number): Promise<Buffer> {
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<rect width="${width}" height="${height}" fill="rgb(120,130,125)"/>` +
    `<circle cx="${cx}" cy="${cy}" r="${r}" fill="rgb(210,40,30)"/>` +
    `<circle cx="${cx}" cy="${cy}" r="${r / 3}" fill="rgb(250,230,200)"/>` +
    `</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

async function brandPack(): Promise<Buffer> {
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="300" height="300"><rect width="300" height="300" fill="#fff"/>` +
    `<rect x="90" y="40" width="120" height="220" fill="rgb(30,80,200)"/></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

const overlaps = (a: { left: number; top: number; width: number; height: number }, b: typeof a): boolean =>
  a.left < b.left + b.width && b.left < a.left + a.width && a.top < b.top + b.height && b.top < a.top + a.height;

describe(`${LocalAdGenerator.name} formats and looks`, () => {
  const generator = new LocalAdGenerator();
  let brand: Buffer;
  before(async () => {
    brand = await brandPack();
  });

  it('renders every format at its exact size', async () => {
    const seed = await sceneWithSubject(1600, 1200, 800, 600, 200);
    for (const format of AdFormat.options) {
      const { width, height } = AD_FORMAT_SIZES[format];
      const rendered = await generator.render({ seed, brand, width, height });
      const metadata = await sharp(rendered.ad.png).metadata();
      assert.deepEqual([metadata.width, metadata.height, rendered.ad.width, rendered.ad.height], [width, height, width, height], format);
      const { pack } = rendered.layout;
      assert.ok(
        pack.left >= 0 && pack.top >= 0 && pack.left + pack.width <= width && pack.top + pack.height <= height,
        `${format}: pack ${JSON.stringify(pack)}`,
      );
    }
  });

  it('crops by content: a subject at the edge of a wide seed stays in a tall frame', async () => {
    // 2400×1000 seed, subject near the right edge; 9:16 keeps only ~23% of the width.
    const seed = await sceneWithSubject(2400, 1000, 2100, 500, 150);
    const rendered = await generator.render({ seed, brand, width: 1080, height: 1920 });
    const crop = rendered.seed.crop;
    assert.ok(crop.left <= 2100 - 150 && crop.left + crop.width >= 2100 + 150, `crop ${JSON.stringify(crop)} misses the subject at x=1950..2250`);
    // A centre crop would not have it: the check can fail.
    assert.ok(1200 - crop.width / 2 + crop.width < 1950);
  });

  it('keeps the pack off the subject, wherever the subject is', async () => {
    for (const [cx, cy] of [
      [820, 820],
      [260, 820],
      [820, 260],
      [260, 260],
    ]) {
      const seed = await sceneWithSubject(1080, 1080, cx, cy, 200);
      const rendered = await generator.render({ seed, brand });
      const subject = { left: cx - 200, top: cy - 200, width: 400, height: 400 };
      assert.ok(!overlaps(rendered.layout.pack, subject), `subject at (${cx},${cy}), pack ${JSON.stringify(rendered.layout.pack)}`);
    }
  });

  it('warns when the seed is enlarged more than 2×, and not otherwise', async () => {
    const small = await sceneWithSubject(500, 333, 250, 160, 80);
    const soft = await generator.render({ seed: small, brand, width: 1080, height: 1080 });
    assert.ok(soft.seed.upscale > 3.2 && soft.seed.upscale < 3.3, `upscale ${soft.seed.upscale}`);
    assert.equal(soft.ad.warnings?.length, 1);
    assert.match(soft.ad.warnings[0], /enlarged 3\.2×/);
    const sharpEnough = await generator.render({ seed: await sceneWithSubject(1200, 900, 600, 450, 150), brand });
    assert.deepEqual(sharpEnough.ad.warnings, []);
  });

  it('gives a different picture for every look of one seed, and the same picture for the same look', async () => {
    const seed = await sceneWithSubject(1600, 1000, 700, 480, 160);
    const hashes = new Set<string>();
    for (let look = 0; look < 8; look++) {
      const { ad } = await generator.render({ seed, brand, width: 1080, height: 1350, look });
      hashes.add(createHash('sha256').update(ad.png).digest('hex'));
    }
    assert.equal(hashes.size, 8);
    const again = await generator.render({ seed, brand, width: 1080, height: 1350, look: 3 });
    const first = await generator.render({ seed, brand, width: 1080, height: 1350, look: 3 });
    assert.ok(again.ad.png.equals(first.ad.png));
  });

  it('still differs when a seed has a single crop: a square seed in a square ad gives 8 distinct looks (4 corners, mirrored)', async () => {
    // one crop, and a subject that leaves only some corners "eligible": later looks take the others
    const seed = await sceneWithSubject(1080, 1080, 800, 800, 200);
    const hashes = new Set<string>();
    for (let look = 0; look < 8; look++) {
      const { ad } = await generator.render({ seed, brand, width: 1080, height: 1080, look });
      hashes.add(createHash('sha256').update(ad.png).digest('hex'));
    }
    assert.equal(hashes.size, 8);
  });

  it('refuses half a format and out-of-range looks, naming the field', async () => {
    const seed = await sceneWithSubject(800, 800, 400, 400, 100);
    await assert.rejects(generator.render({ seed, brand, width: 1080 }), /height: must be an integer/);
    await assert.rejects(generator.render({ seed, brand, width: 100, height: 1080 }), /width: must be an integer from 600/);
    await assert.rejects(generator.render({ seed, brand, look: 64 }), /look: must be an integer from 0 to 63/);
  });
});
