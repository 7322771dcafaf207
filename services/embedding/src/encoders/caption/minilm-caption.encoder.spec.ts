import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { ensureCaptionModel } from '../../models/fetch-models';
import { MiniLmCaptionEncoder } from './minilm-caption.encoder';

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i] * b[i];
  return dot; // inputs are unit vectors
}

function norm(v: Float32Array): number {
  return Math.sqrt(v.reduce((s, x) => s + x * x, 0));
}

describe(MiniLmCaptionEncoder.name, () => {
  let modelDir: string;
  let encoder: MiniLmCaptionEncoder;

  before(async () => {
    modelDir = await ensureCaptionModel(join(resolve(__dirname, '../../../../..'), '.cache'));
    encoder = await MiniLmCaptionEncoder.load({ modelDir, intraOpThreads: 2 });
  });
  after(async () => {
    await encoder?.close();
  });

  it('describes itself: id, 384-d, version from the weights', () => {
    assert.equal(encoder.info.modelId, 'sentence-transformers/all-MiniLM-L6-v2-q8');
    assert.equal(encoder.info.dim, 384);
    assert.match(encoder.info.modelVersion, /^sha256:[0-9a-f]{16}$/);
    assert.deepEqual([...encoder.inputNames].sort(), ['attention_mask', 'input_ids', 'token_type_ids']);
  });

  it('returns one unit-length 384-d vector per text, in order', async () => {
    const vectors = await encoder.embedTexts(['a red car', 'a bowl of soup', '']);
    assert.equal(vectors.length, 3);
    for (const v of vectors) {
      assert.equal(v.length, 384);
      assert.ok(Math.abs(norm(v) - 1) < 1e-4, `norm ${norm(v)}`);
      assert.ok(v.every(Number.isFinite));
    }
    assert.ok(cosine(vectors[0], vectors[1]) < 0.9, 'different texts must not collapse to one vector');
    assert.deepEqual(await encoder.embedTexts([]), []);
  });

  it('gives a text the same vector alone or in a list (batch size 1 default)', async () => {
    const texts = ['golden retriever on a beach', 'dog', 'a long caption about a crowded street market at night with lanterns', 'cat'];
    const together = await encoder.embedTexts(texts);
    for (let i = 0; i < texts.length; i++) {
      const [alone] = await encoder.embedTexts([texts[i]]);
      assert.deepEqual(together[i], alone, `text ${i}`);
    }
  });

  it('with larger batches keeps each vector with its text (int8 drift stays small)', async () => {
    const texts = ['golden retriever on a beach', 'dog', 'a long caption about a crowded street market at night with lanterns', 'cat', 'x', 'a bowl of ramen'];
    const batched = await MiniLmCaptionEncoder.load({ modelDir, batchSize: 4 });
    try {
      const many = await batched.embedTexts(texts);
      const single = await encoder.embedTexts(texts);
      for (let i = 0; i < texts.length; i++) {
        // Per-tensor activation quantisation couples rows of a batch: close, not identical.
        assert.ok(cosine(many[i], single[i]) > 0.95, `text ${i}: ${cosine(many[i], single[i])}`);
        for (let j = 0; j < texts.length; j++) {
          if (j !== i) assert.ok(cosine(many[i], single[i]) > cosine(many[i], single[j]), `text ${i} vs ${j}`);
        }
      }
    } finally {
      await batched.close();
    }
  });

  it('places captions by meaning', async () => {
    const [beaglePhoto, beagleDog, persianCat, retriever, dog, cat] = await encoder.embedTexts([
      'a photo of a beagle',
      'beagle, a dog',
      'Persian, a cat',
      'golden retriever',
      'dog',
      'cat',
    ]);
    assert.ok(cosine(beaglePhoto, beagleDog) > cosine(beaglePhoto, persianCat));
    assert.ok(cosine(retriever, dog) > cosine(retriever, cat));
  });

  it('refuses work after close with a message saying what to do', async () => {
    const short = await MiniLmCaptionEncoder.load({ modelDir });
    await short.close();
    await assert.rejects(short.embedTexts(['dog']), /closed; load a new one/);
  });

  describe('probe', () => {
    let scratch: string;
    before(async () => {
      scratch = await mkdtemp(join(tmpdir(), 'minilm-probe-'));
    });
    after(async () => {
      await rm(scratch, { recursive: true, force: true });
    });

    it('accepts the fetched model', async () => {
      assert.deepEqual(await MiniLmCaptionEncoder.probe(modelDir), { ok: true });
    });

    it('names the missing file and how to fetch it', async () => {
      const result = await MiniLmCaptionEncoder.probe(join(scratch, 'nowhere'));
      assert.equal(result.ok, false);
      assert.match(result.reason ?? '', /model\.onnx.*fetch-models/);
    });

    it('rejects a corrupt model file', async () => {
      const dir = join(scratch, 'corrupt');
      await mkdir(dir);
      await writeFile(join(dir, 'model.onnx'), 'not an onnx graph');
      await copyFile(join(modelDir, 'tokenizer.json'), join(dir, 'tokenizer.json'));
      const result = await MiniLmCaptionEncoder.probe(dir);
      assert.equal(result.ok, false);
      assert.ok(result.reason);
    });
  });
});
