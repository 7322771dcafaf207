import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';

import sharp from 'sharp';

import { CLIP_IMAGE_SIZE, CLIP_MEAN, CLIP_STD, clipResizeTarget, jpegComponentCount, preprocessForClip } from './clip-preprocess';
import { resizeBicubicLikePillow, resizeCropBicubicLikePillow } from './pillow-resample';
import { resampleKernel } from './pillow-resample.kernel';

interface PillowCase {
  readonly width: number;
  readonly height: number;
  readonly alpha: boolean;
  readonly resized: [number, number];
  readonly channelMean: [number, number, number];
  readonly channelStd: [number, number, number];
  readonly samples: Array<[number, [number, number, number]]>;
  readonly firstRowRed: number[];
}

// The fixture is data, not code: read it from the source tree (tsc does not copy JSON).
const FIXTURE_PATH = resolve(__dirname, '../../../src/encoders/clip/fixtures/pillow-reference.json');
const fixture = JSON.parse(readFileSync(FIXTURE_PATH, 'utf8')) as { cases: PillowCase[] };

// Same formula as fixtures/make_pillow_reference.py.
function syntheticPixel(x: number, y: number, c: number): number {
  return (x * x * 3 + y * 5 + c * 71 + ((x * 31 + y * 17) % 23) * 9 + ((x * y) % 11)) % 256;
}
function syntheticAlpha(x: number, y: number, w: number): number {
  return (Math.floor((x * 255) / Math.max(w - 1, 1)) + y * 3) % 256;
}

async function syntheticPng(w: number, h: number, withAlpha: boolean): Promise<Buffer> {
  const ch = withAlpha ? 4 : 3;
  const raw = Buffer.alloc(w * h * ch);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) raw[(y * w + x) * ch + c] = syntheticPixel(x, y, c);
      if (withAlpha) raw[(y * w + x) * ch + 3] = syntheticAlpha(x, y, w);
    }
  }
  return sharp(raw, { raw: { width: w, height: h, channels: ch } })
    .png()
    .toBuffer();
}

function toUint8(tensor: Float32Array, c: number, index: number): number {
  return Math.round((tensor[c * CLIP_IMAGE_SIZE * CLIP_IMAGE_SIZE + index] * CLIP_STD[c] + CLIP_MEAN[c]) * 255);
}

describe(preprocessForClip.name, () => {
  for (const ref of fixture.cases) {
    it(`matches Pillow for a ${ref.width}×${ref.height}${ref.alpha ? ' RGBA' : ''} image`, async () => {
      assert.deepEqual(Object.values(clipResizeTarget(ref.width, ref.height)), ref.resized);
      const tensor = await preprocessForClip(await syntheticPng(ref.width, ref.height, ref.alpha));
      assert.equal(tensor.length, 3 * CLIP_IMAGE_SIZE * CLIP_IMAGE_SIZE);

      // Integer arithmetic on both sides: every sampled pixel must be exactly Pillow's.
      const tolerance = 0;
      let worst = 0;
      for (const [index, rgb] of ref.samples) {
        for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(toUint8(tensor, c, index) - rgb[c]));
      }
      assert.ok(worst <= tolerance, `a sampled pixel is off by ${worst} levels (allowed ${tolerance})`);

      const plane = CLIP_IMAGE_SIZE * CLIP_IMAGE_SIZE;
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let i = 0; i < plane; i++) sum += tensor[c * plane + i];
        assert.ok(Math.abs(sum / plane - ref.channelMean[c]) < 2e-3, `channel ${c} mean ${sum / plane} vs ${ref.channelMean[c]}`);
      }
      ref.firstRowRed.forEach((v, x) => assert.ok(Math.abs(tensor[x] - v) < 1e-5, `red[0,${x}] ${tensor[x]} vs ${v}`));
    });
  }

  it('applies EXIF orientation before resizing', async () => {
    // A 40×20 image, left half black and right half white, stored with "rotate 90° CW" (6).
    const raw = Buffer.alloc(40 * 20 * 3);
    for (let y = 0; y < 20; y++) for (let x = 20; x < 40; x++) raw.fill(255, (y * 40 + x) * 3, (y * 40 + x) * 3 + 3);
    const jpeg = await sharp(raw, { raw: { width: 40, height: 20, channels: 3 } })
      .withMetadata({ orientation: 6 })
      .png()
      .toBuffer();
    const tensor = await preprocessForClip(jpeg);
    // After rotation the image is 20×40 with black on top and white at the bottom.
    const at = (x: number, y: number): number => toUint8(tensor, 0, y * CLIP_IMAGE_SIZE + x);
    assert.ok(at(112, 5) < 20, `top should be black, got ${at(112, 5)}`);
    assert.ok(at(112, 218) > 235, `bottom should be white, got ${at(112, 218)}`);
  });

  it('refuses images above maxPixels and says how to fix it', async () => {
    const png = await sharp({ create: { width: 300, height: 300, channels: 3, background: '#808080' } })
      .png()
      .toBuffer();
    await assert.rejects(preprocessForClip(png, { maxPixels: 200 * 200 }), /more than 40000 pixels.*maxPixels/);
  });

  it('rejects bytes that are not an image', async () => {
    await assert.rejects(preprocessForClip(Buffer.from('not an image')), /cannot decode image/);
  });
});

describe(resizeBicubicLikePillow.name, () => {
  it('keeps a flat colour flat when shrinking and enlarging', () => {
    const data = new Uint8Array(50 * 30 * 3);
    for (let i = 0; i < data.length; i += 3) data.set([200, 100, 7], i);
    for (const [w, h] of [
      [17, 9],
      [123, 77],
    ]) {
      const out = resizeBicubicLikePillow({ data, width: 50, height: 30, channels: 3 }, w, h);
      assert.equal(out.data.length, w * h * 3);
      for (let i = 0; i < out.data.length; i += 3) assert.deepEqual(Array.from(out.data.subarray(i, i + 3)), [200, 100, 7]);
    }
  });
});

describe(resizeCropBicubicLikePillow.name, () => {
  /** Noise with hard edges, so overshoot (negative sums, sums above 255) is exercised. */
  function noisy(width: number, height: number, seed: number): Uint8Array {
    const data = new Uint8Array(width * height * 3);
    let x = seed;
    for (let i = 0; i < data.length; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      data[i] = (x >>> 16) & 1 ? 255 : (x >>> 24) & 0x0f;
    }
    return data;
  }
  const collect = (
    src: { data: Uint8Array; width: number; height: number; channels: number },
    w: number,
    h: number,
    crop: { left: number; top: number; width: number; height: number },
    simd: boolean,
  ): Uint8Array => {
    const out = new Uint8Array(crop.width * crop.height * 3);
    resizeCropBicubicLikePillow(src, w, h, crop, (y, row) => out.set(row, y * row.length), { simd });
    return out;
  };

  it('has a WebAssembly SIMD kernel on this Node', () => {
    assert.ok(resampleKernel(), 'no SIMD kernel: preprocessing falls back to the slower JS passes');
  });

  // Both passes, one of them, neither; shrinking and enlarging; a crop whose rows are not a
  // multiple of 16 bytes (horizontal pass in SIMD, vertical in JS); one touching the last column;
  // a source copied into the kernel's memory in several chunks (9 MB).
  for (const [w, h, tw, th, side] of [
    [500, 375, 298, 224, 224],
    [333, 500, 224, 336, 224],
    [64, 48, 298, 224, 224],
    [224, 300, 224, 300, 224],
    [1200, 224, 1200, 224, 224],
    [97, 61, 224, 224, 224],
    [500, 224, 298, 224, 224],
    [640, 427, 335, 224, 100],
    [3, 2, 5, 4, 5],
    [2000, 1500, 298, 224, 224],
  ]) {
    it(`SIMD and JS passes agree byte for byte (${w}×${h} → ${tw}×${th}, centre ${side} crop)`, () => {
      const src = { data: noisy(w, h, w * 31 + h), width: w, height: h, channels: 3 };
      const crop = { left: Math.floor((tw - side) / 2), top: Math.floor((th - Math.min(side, th)) / 2), width: side, height: Math.min(side, th) };
      assert.deepEqual(collect(src, tw, th, crop, true), collect(src, tw, th, crop, false));
    });
  }

  it('equals the full resize cut afterwards (cropping first skips only discarded pixels)', () => {
    const src = { data: noisy(410, 290, 7), width: 410, height: 290, channels: 3 };
    const full = resizeBicubicLikePillow(src, 316, 224);
    const crop = { left: 46, top: 0, width: 224, height: 224 };
    const expected = new Uint8Array(224 * 224 * 3);
    for (let y = 0; y < 224; y++) expected.set(full.data.subarray((y * 316 + 46) * 3, (y * 316 + 46 + 224) * 3), y * 224 * 3);
    assert.deepEqual(collect(src, 316, 224, crop, true), expected);
  });
});

describe(jpegComponentCount.name, () => {
  it('reads the component count from the frame header, and nothing from non-JPEG bytes', async () => {
    const golden = resolve(__dirname, '../../../src/encoders/clip/fixtures/hf-golden/images');
    assert.equal(jpegComponentCount(readFileSync(join(golden, 'cmyk.jpg'))), 4);
    assert.equal(jpegComponentCount(readFileSync(join(golden, 'photo-640x480-q90.jpg'))), 3);
    assert.equal(jpegComponentCount(readFileSync(join(golden, 'progressive.jpg'))), 3);
    assert.equal(jpegComponentCount(readFileSync(join(golden, 'grey.jpg'))), 1);
    // EXIF (APP1) before the frame header is skipped by its length.
    assert.equal(jpegComponentCount(readFileSync(join(golden, 'exif-orientation-6.jpg'))), 3);
    assert.equal(jpegComponentCount(readFileSync(join(golden, 'grey.png'))), undefined);
    assert.equal(jpegComponentCount(readFileSync(join(golden, 'cmyk.jpg')).subarray(0, 20)), undefined, 'truncated');
    assert.equal(jpegComponentCount(Buffer.alloc(0)), undefined);
  });
});
