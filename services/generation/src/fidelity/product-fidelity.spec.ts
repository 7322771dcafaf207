import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import { renderDemoBrandPack } from '../generators/demo-brand';
import { LocalAdGenerator } from '../generators/local-ad.generator';
import { DistortingAdGenerator, type Distortion } from './distorting.generator';
import { productFidelity, type Rect } from './product-fidelity';

/** A busy seed photo stand-in: smooth colour gradients plus a deterministic texture. */
async function texturedSeed(width: number, height: number): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = ((x * 7919 + y * 104729) % 61) - 30;
      data.set([clamp((x * 255) / width + t), clamp((y * 255) / height - t), clamp(128 + t * 2)], (y * width + x) * 3);
    }
  }
  return sharp(data, { raw: { width, height, channels: 3 } })
    .jpeg()
    .toBuffer();
}
const clamp = (v: number): number => Math.max(0, Math.min(255, Math.round(v)));

const iou = (a: Rect, b: Rect): number => {
  const w = Math.max(0, Math.min(a.left + a.width, b.left + b.width) - Math.max(a.left, b.left));
  const h = Math.max(0, Math.min(a.top + a.height, b.top + b.height) - Math.max(a.top, b.top));
  return (w * h) / (a.width * a.height + b.width * b.height - w * h);
};

describe('productFidelity', () => {
  let brand: Buffer;
  let seed: Buffer;
  before(async () => {
    brand = await renderDemoBrandPack();
    seed = await texturedSeed(1200, 900);
  });

  it('scores the local compositor near 1, whether the placement is given or searched for', async () => {
    for (const look of [0, 1, 2]) {
      const ad = await new LocalAdGenerator().generate({ seed, brand, look, headline: 'Fresh every day' });
      const given = await productFidelity(ad.png, brand, ad.placement);
      const searched = await productFidelity(ad.png, brand);
      assert.ok(given.score >= 0.95, `look ${look}: placement score ${given.score}`);
      assert.ok(
        searched.score >= 0.9,
        `look ${look}: searched score ${searched.score} at ${JSON.stringify(searched.region)} vs ${JSON.stringify(ad.placement)}`,
      );
      assert.ok(
        iou(searched.region, ad.placement!) > 0.7,
        `look ${look}: search found ${JSON.stringify(searched.region)}, pack at ${JSON.stringify(ad.placement)}`,
      );
    }
  });

  for (const distortion of ['blur', 'recolour', 'warp'] as Distortion[]) {
    const spoilt = { blur: 'blurred', recolour: 'recoloured', warp: 'warped' }[distortion];
    it(`scores a ${spoilt} pack below the review threshold (0.8), located by placement or by search`, async () => {
      const intact = await new LocalAdGenerator().generate({ seed, brand });
      const spoiled = await new DistortingAdGenerator(new LocalAdGenerator(), distortion).generate({ seed, brand });
      const given = await productFidelity(spoiled.png, brand, spoiled.placement);
      const searched = await productFidelity(spoiled.png, brand);
      const reference = await productFidelity(intact.png, brand, intact.placement);
      assert.ok(given.score < 0.8, `${distortion}: placement score ${given.score} (${given.structure} × ${given.colour})`);
      assert.ok(searched.score < 0.8, `${distortion}: searched score ${searched.score}`);
      assert.ok(reference.score - given.score > 0.15, `${distortion}: intact ${reference.score} vs spoiled ${given.score}`);
    });
  }

  it('scores an ad without the pack low', async () => {
    const plain = await sharp(seed).resize(1080, 1080).png().toBuffer();
    const result = await productFidelity(plain, brand);
    assert.ok(result.score < 0.5, `no pack: ${result.score}`);
  });
});
