import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';

import sharp from 'sharp';

import { CLIP_IMAGE_SIZE, CLIP_MEAN, CLIP_STD, clipResizeTarget, decodeRgb, preprocessForClip } from './clip-preprocess';
import { ClipTokenizer } from './clip-tokenizer';
import { sharedClipTokenizerDir } from './shared-clip-dir';

/*
 * Golden files made once with the Hugging Face reference (CLIPTokenizerFast, CLIPImageProcessor
 * on Pillow + numpy) by fixtures/make_hf_goldens.py; see fixtures/hf-golden/README.md. The
 * fixtures are data, read from the source tree (tsc does not copy them).
 */
const GOLDEN_DIR = resolve(__dirname, '../../../src/encoders/clip/fixtures/hf-golden');

interface TokenCase {
  readonly text: string;
  readonly ids: number[];
}
interface ImageCase {
  readonly file: string;
  readonly crop: string;
  readonly mode: string;
  readonly decoded: [number, number];
  readonly resized: [number, number];
  readonly sha256: string;
  readonly channelMean: [number, number, number];
  /** A Pillow behaviour adseed deliberately does not copy; then sha256Expected is compared. */
  readonly quirk?: string;
  readonly sha256Expected?: string;
}

const tokenCases = (JSON.parse(readFileSync(join(GOLDEN_DIR, 'tokens.json'), 'utf8')) as { cases: TokenCase[] }).cases;
const imageCases = (JSON.parse(readFileSync(join(GOLDEN_DIR, 'images.json'), 'utf8')) as { cases: ImageCase[] }).cases;
const tokenizer = ClipTokenizer.fromFile(join(sharedClipTokenizerDir(), 'tokenizer.json'));

const label = (text: string): string => {
  const shown = JSON.stringify(text);
  return shown.length > 48 ? `${shown.slice(0, 45)}…" (${text.length} chars)` : shown;
};

describe(`${ClipTokenizer.name} against Hugging Face CLIPTokenizerFast (golden ids)`, () => {
  it(`covers at least 200 strings (${tokenCases.length})`, () => {
    assert.ok(tokenCases.length >= 200);
    assert.ok(
      tokenCases.some((c) => c.ids.length === 77),
      'some case is truncated at 77 tokens',
    );
  });

  for (const { text, ids } of tokenCases) {
    it(`encodes ${label(text)}`, () => {
      assert.deepEqual(tokenizer.encode(text), ids);
    });
  }
});

/** Pixel levels the tensor stands for (exact: the reference tensor is a function of 8-bit pixels). */
function levels(tensor: Float32Array): Uint8Array {
  const plane = CLIP_IMAGE_SIZE * CLIP_IMAGE_SIZE;
  const out = new Uint8Array(plane * 3);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.max(0, Math.min(255, Math.round((tensor[c * plane + i] * CLIP_STD[c] + CLIP_MEAN[c]) * 255)));
  }
  return out;
}

function sha256OfFloat32LE(tensor: Float32Array): string {
  // Float32Array is little-endian on every platform Node runs on here (x64, arm64).
  return createHash('sha256')
    .update(new Uint8Array(tensor.buffer, tensor.byteOffset, tensor.byteLength))
    .digest('hex');
}

describe(`${preprocessForClip.name} against Hugging Face CLIPImageProcessor (golden tensors)`, () => {
  it(`covers at least 20 images (${imageCases.length})`, () => {
    assert.ok(imageCases.length >= 20);
  });

  for (const ref of imageCases) {
    const what = ref.quirk ? `NOT the reference (${ref.quirk})` : 'the reference tensor bit for bit';
    it(`gives ${what} for ${ref.file} (${ref.mode} ${ref.decoded.join('×')})`, async () => {
      const bytes = readFileSync(join(GOLDEN_DIR, ref.file));
      const rgb = await decodeRgb(bytes);
      assert.deepEqual(Object.values(clipResizeTarget(rgb.width, rgb.height)), ref.resized, 'resize target');
      const tensor = await preprocessForClip(bytes);
      assert.equal(tensor.length, 3 * CLIP_IMAGE_SIZE * CLIP_IMAGE_SIZE);
      const sha = sha256OfFloat32LE(tensor);
      const want = ref.sha256Expected ?? ref.sha256;
      if (ref.quirk) assert.notEqual(sha, ref.sha256, 'the quirk is gone from the reference: drop sha256Expected');
      if (sha === want) return;
      // Say how far off: pixel levels against the reference crop.
      const expected = await sharp(readFileSync(join(GOLDEN_DIR, ref.crop)))
        .raw()
        .toBuffer();
      const actual = levels(tensor);
      let worst = 0;
      let differing = 0;
      for (let i = 0; i < actual.length; i++) {
        const d = Math.abs(actual[i] - expected[i]);
        if (d > 0) differing++;
        worst = Math.max(worst, d);
      }
      assert.fail(`tensor differs from the reference: ${differing} of ${actual.length} channel values, by up to ${worst} levels (sha256 ${sha} vs ${want})`);
    });
  }

  it('ignores an embedded ICC profile, as Pillow does (sharp would convert Display P3 to sRGB)', async () => {
    // Checked once with Pillow 13: np.array(Image.open(f).convert("RGB")) is the stored pixels.
    const raw = Buffer.from(Array.from({ length: 8 * 4 * 3 }, (_, i) => (i * 37) % 256));
    const tagged = await sharp(raw, { raw: { width: 8, height: 4, channels: 3 } })
      .withIccProfile('p3')
      .png()
      .toBuffer();
    assert.ok((await sharp(tagged).metadata()).hasProfile, 'the test image carries a profile');
    const stored = await sharp(tagged, { ignoreIcc: true }).raw().toBuffer();
    const managed = await sharp(tagged).toColourspace('srgb').raw().toBuffer();
    assert.notDeepEqual(managed, stored, 'colour management would change the pixels');
    const decoded = await decodeRgb(tagged);
    assert.deepEqual(Buffer.from(decoded.data), stored);
  });
});
