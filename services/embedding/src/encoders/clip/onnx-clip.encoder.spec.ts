import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import sharp from 'sharp';

import { CLIP_TEXT_SIGNATURES, generateClipModels, TOY_MODEL_ID } from './clip-model.generator';
import { OnnxClipEncoder } from './onnx-clip.encoder';
import { sharedClipTokenizerDir } from './shared-clip-dir';

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** A photo-like image: a colour with mild texture, so it is not a flat test card. */
async function photo(r: number, g: number, b: number, width = 320, height = 240): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const wobble = ((x * 7 + y * 13) % 31) - 15;
      const o = (y * width + x) * 3;
      raw[o] = Math.max(0, Math.min(255, r + wobble));
      raw[o + 1] = Math.max(0, Math.min(255, g + wobble));
      raw[o + 2] = Math.max(0, Math.min(255, b + wobble));
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

describe(OnnxClipEncoder.name, () => {
  let dir: string;
  let encoder: OnnxClipEncoder;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'adseed-clip-toy-'));
    await generateClipModels({ kind: 'toy', outDir: join(dir, 'toy'), tokenizerDir: sharedClipTokenizerDir() });
    encoder = await OnnxClipEncoder.load({ modelDir: join(dir, 'toy'), batchSize: 3, intraOpThreads: 1 });
  });

  after(async () => {
    await encoder?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('feeds the text tower only input_ids, as the real Xenova export declares', () => {
    assert.deepEqual(encoder.textInputNames, ['input_ids']);
  });

  it('reports the model identity and a content hash as version', () => {
    assert.equal(encoder.info.modelId, TOY_MODEL_ID);
    assert.match(encoder.info.modelVersion, /^[0-9a-f]{12}$/);
    assert.equal(encoder.info.dim, 512);
  });

  it('returns one unit-length vector per image and per text, in order', async () => {
    const images = await encoder.embedImages([await photo(220, 30, 30), await photo(30, 60, 220)]);
    const texts = await encoder.embedTexts(['a red image', 'a blue image', 'a dog']);
    assert.equal(images.length, 2);
    assert.equal(texts.length, 3);
    for (const v of [...images, ...texts]) {
      assert.equal(v.length, 512);
      assert.ok(Math.abs(Math.sqrt(dot(v, v)) - 1) < 1e-5);
    }
    assert.deepEqual(await encoder.embedImages([]), []);
    assert.deepEqual(await encoder.embedTexts([]), []);
  });

  it('gives the same vectors batched as one by one (batch size 3, 7 items)', async () => {
    const colours: Array<[number, number, number]> = [
      [220, 30, 30],
      [30, 60, 220],
      [40, 170, 60],
      [240, 220, 40],
      [15, 15, 15],
      [245, 245, 245],
      [130, 50, 160],
    ];
    const images = await Promise.all(colours.map(([r, g, b], i) => photo(r, g, b, 64 + i * 16, 200 - i * 10)));
    const texts = ['a red image', 'blue', 'a photo of a green field with yellow flowers', 'x', '', 'purple and pink', 'black'];
    const batchedImages = await encoder.embedImages(images);
    const batchedTexts = await encoder.embedTexts(texts);
    for (let i = 0; i < images.length; i++) {
      const [single] = await encoder.embedImages([images[i]]);
      assert.ok(dot(single, batchedImages[i]) > 1 - 1e-5, `image ${i}`);
      const [singleText] = await encoder.embedTexts([texts[i]]);
      assert.ok(Math.abs(dot(singleText, batchedTexts[i]) - dot(singleText, singleText)) < 1e-5, `text ${i}`);
    }
  });

  it('ranks pictures by the colour a text names, through the real tokenizer and preprocessing', async () => {
    const [red, blue, green] = await encoder.embedImages([await photo(200, 40, 35), await photo(35, 70, 200), await photo(50, 160, 70)]);
    const [redText, blueText, greenText] = await encoder.embedTexts(['a red image', 'A photo of something BLUE.', 'green grass']);
    assert.ok(dot(redText, red) > dot(redText, blue) && dot(redText, red) > dot(redText, green), 'red text → red image');
    assert.ok(dot(blueText, blue) > dot(blueText, red) && dot(blueText, blue) > dot(blueText, green), 'blue text → blue image');
    assert.ok(dot(greenText, green) > dot(greenText, red) && dot(greenText, green) > dot(greenText, blue), 'green text → green image');
  });

  it('names the bad image in a batch', async () => {
    await assert.rejects(encoder.embedImages([await photo(1, 2, 3), Buffer.from('garbage')]), /image 1: cannot decode image/);
  });

  it('probes a folder without weights and says what is missing', async () => {
    const probe = await OnnxClipEncoder.probe(join(dir, 'nowhere'));
    assert.equal(probe.ok, false);
    assert.match(probe.reason ?? '', /does not exist/);
    const empty = join(dir, 'empty');
    await generateClipModels({ kind: 'toy', outDir: empty, tokenizerDir: sharedClipTokenizerDir() });
    await unlink(join(empty, 'onnx', 'text_model.onnx'));
    const missing = await OnnxClipEncoder.probe(empty);
    assert.equal(missing.ok, false);
    assert.match(missing.reason ?? '', /text_model_quantized\.onnx, onnx\/text_model\.onnx/);
    await assert.rejects(OnnxClipEncoder.load({ modelDir: empty }), /OnnxClipEncoder: no CLIP weights/);
  });

  it('recognises a Git LFS pointer instead of weights', async () => {
    const lfs = join(dir, 'lfs');
    await generateClipModels({ kind: 'toy', outDir: lfs, tokenizerDir: sharedClipTokenizerDir() });
    await writeFile(join(lfs, 'onnx', 'vision_model.onnx'), 'version https://git-lfs.github.com/spec/v1\noid sha256:0000\nsize 352000000\n');
    const probe = await OnnxClipEncoder.probe(lfs);
    assert.equal(probe.ok, false);
    assert.match(probe.reason ?? '', /Git LFS pointer/);
  });

  it('refuses a model whose inputs and outputs are not CLIP’s', async () => {
    const swapped = join(dir, 'swapped');
    await generateClipModels({ kind: 'toy', outDir: swapped, tokenizerDir: sharedClipTokenizerDir() });
    // The text tower where the vision tower should be: valid ONNX, wrong interface.
    await writeFile(join(swapped, 'onnx', 'vision_model.onnx'), await readFile(join(swapped, 'onnx', 'text_model.onnx')));
    await assert.rejects(
      OnnxClipEncoder.load({ modelDir: swapped }),
      /vision_model\.onnx: expected inputs \[pixel_values\] and output image_embeds, found inputs \[input_ids\]/,
    );
    // And a text tower that needs an input we do not produce.
    await writeFile(join(swapped, 'onnx', 'vision_model.onnx'), await readFile(join(dir, 'toy', 'onnx', 'vision_model.onnx')));
    await writeFile(join(swapped, 'onnx', 'text_model.onnx'), await readFile(join(dir, 'toy', 'onnx', 'vision_model.onnx')));
    await assert.rejects(
      OnnxClipEncoder.load({ modelDir: swapped }),
      /text_model\.onnx: expected inputs \[input_ids\] \(optionally attention_mask\) and output text_embeds, found inputs \[pixel_values\]/,
    );
  });

  it('refuses to work after close()', async () => {
    const other = await OnnxClipEncoder.load({ modelDir: join(dir, 'toy') });
    await other.close();
    await assert.rejects(other.embedTexts(['a']), /after close/);
  });
});

describe(`${OnnxClipEncoder.name} text signatures`, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'adseed-clip-signatures-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  // Texts of different lengths in one batch, so rows carry EOS padding the mask-less tower must ignore.
  const texts = ['a red image', 'blue', 'a photo of a green field with yellow flowers and a brown fence', '', 'pink '.repeat(90)];

  for (const kind of ['toy', 'vit-b32'] as const) {
    it(`${kind}: loads input_ids-only and input_ids+attention_mask towers and gets the same vectors from both`, { timeout: 300_000 }, async () => {
      const vectors: Float32Array[][] = [];
      for (const textInputs of CLIP_TEXT_SIGNATURES) {
        const out = join(dir, `${kind}-${textInputs}`);
        await generateClipModels({ kind, outDir: out, tokenizerDir: sharedClipTokenizerDir(), textInputs });
        const loaded = await OnnxClipEncoder.load({ modelDir: out, batchSize: 8, intraOpThreads: 1 });
        try {
          assert.deepEqual(loaded.textInputNames, textInputs.split('+'));
          const batched = await loaded.embedTexts(texts);
          // Alone, no row has padding: the batched rows must not depend on it.
          for (let i = 0; i < texts.length; i++) {
            const [alone] = await loaded.embedTexts([texts[i]]);
            assert.ok(dot(alone, batched[i]) > 1 - 1e-5, `${textInputs}: text ${i} batched vs alone`);
          }
          vectors.push(batched);
        } finally {
          await loaded.close();
          // The random ViT-B/32 is ~600 MB on disk: do not keep two of them.
          if (kind === 'vit-b32') await rm(out, { recursive: true, force: true });
        }
      }
      const [idsOnly, withMask] = vectors;
      for (let i = 0; i < texts.length; i++) assert.ok(dot(idsOnly[i], withMask[i]) > 1 - 1e-5, `text ${i}: same vector under both signatures`);
      // The vectors differ between texts, so agreement above is not agreement on a constant.
      assert.ok(dot(idsOnly[0], idsOnly[1]) < 0.999);
    });
  }
});
