import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import sharp from 'sharp';

import { removeWhiteBackground } from './brand-cutout';
import { DEMO_BRAND_SIZE, renderDemoBrandPack } from './demo-brand';

describe(renderDemoBrandPack.name, () => {
  it('renders an opaque 800×800 PNG on pure white, the same every time', async () => {
    const [png, again] = await Promise.all([renderDemoBrandPack(), renderDemoBrandPack()]);
    assert.ok(png.equals(again));
    const metadata = await sharp(png).metadata();
    assert.deepEqual([metadata.format, metadata.width, metadata.height, metadata.hasAlpha], ['png', DEMO_BRAND_SIZE, DEMO_BRAND_SIZE, false]);
    const { data } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    for (const [x, y] of [
      [0, 0],
      [799, 0],
      [0, 799],
      [799, 799],
      [400, 20],
      [400, 780],
    ]) {
      const o = (y * DEMO_BRAND_SIZE + x) * 3;
      assert.deepEqual([...data.subarray(o, o + 3)], [255, 255, 255], `(${x},${y}) is white`);
    }
  });

  it('has a coloured pack with white enclosed in it, so the cut-out is exercised', async () => {
    const { data, info } = await sharp(await renderDemoBrandPack())
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const cut = removeWhiteBackground({ data, width: info.width, height: info.height });
    let opaque = 0;
    let opaqueWhite = 0;
    for (let o = 0; o < cut.data.length; o += 4) {
      if (cut.data[o + 3] !== 255) continue;
      opaque += 1;
      if (cut.data[o] === 255 && cut.data[o + 1] === 255 && cut.data[o + 2] === 255) opaqueWhite += 1;
    }
    const total = info.width * info.height;
    assert.ok(opaque > 0.35 * total && opaque < 0.7 * total, `pack covers ${((100 * opaque) / total).toFixed(1)}%`);
    assert.ok(opaqueWhite > 0.05 * total, `only ${opaqueWhite} enclosed white pixels`);
  });
});
