import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { CachedTextEncoder } from './cached-text.encoder';
import { DrainBatcher } from './drain-batcher';
import { generateClipModels } from './encoders/clip/clip-model.generator';
import { OnnxClipEncoder } from './encoders/clip/onnx-clip.encoder';
import { sharedClipTokenizerDir } from './encoders/clip/shared-clip-dir';
import type { EncoderInfo } from './encoders/encoder.port';
import { TextEmbeddingCache } from './text-embedding.cache';

/** A text model that records every run; a text's vector depends on the text and the version. */
class CountingTextModel {
  readonly runs: string[][] = [];
  /** While set, runs wait for it: lets a test hold the model busy. */
  gate?: Promise<void>;
  constructor(public info: EncoderInfo) {}
  async embedTexts(texts: readonly string[]): Promise<Float32Array[]> {
    this.runs.push([...texts]);
    await this.gate;
    return texts.map((t) => Float32Array.from([t.length, t.charCodeAt(0) || 0, Number(this.info.modelVersion.replace(/\D/g, '')) || 0]));
  }
}

const info = (version: string): EncoderInfo => ({ modelId: 'm', modelVersion: version, dim: 3 });
const options = { maxBatch: 16, windowMs: 0 };

describe(CachedTextEncoder.name, () => {
  it('answers a repeated text from the cache with the same vector, without calling the model', async () => {
    const model = new CountingTextModel(info('v1'));
    const encoder = new CachedTextEncoder(model, new TextEmbeddingCache(100), options);
    const [first] = await encoder.embedTexts(['a red bicycle']);
    const [again] = await encoder.embedTexts(['a red bicycle']);
    assert.deepEqual(again, first);
    assert.equal(model.runs.length, 1);
    assert.deepEqual(encoder.stats, { hits: 1, misses: 1, joined: 0, modelCalls: 1 });
    // Copies: changing a returned vector does not change what the cache answers.
    again.fill(0);
    assert.deepEqual((await encoder.embedTexts(['a red bicycle']))[0], first);
  });

  it('misses for another model version or id sharing the cache', async () => {
    const cache = new TextEmbeddingCache(100);
    const v1 = new CountingTextModel(info('v1'));
    const v2 = new CountingTextModel(info('v2'));
    const other = new CountingTextModel({ modelId: 'other', modelVersion: 'v1', dim: 3 });
    const [a] = await new CachedTextEncoder(v1, cache, options).embedTexts(['dog']);
    const [b] = await new CachedTextEncoder(v2, cache, options).embedTexts(['dog']);
    await new CachedTextEncoder(other, cache, options).embedTexts(['dog']);
    assert.equal(v2.runs.length, 1, 'v2 computed its own vector');
    assert.equal(other.runs.length, 1, 'another model id computed its own vector');
    assert.notDeepEqual(a, b);
    // And a model whose version changes while running stops hitting the old entries.
    const changing = new CountingTextModel(info('v1'));
    const encoder = new CachedTextEncoder(changing, cache, options);
    await encoder.embedTexts(['cat']);
    changing.info = info('v3');
    await encoder.embedTexts(['cat']);
    assert.equal(changing.runs.length, 2);
  });

  it('merges concurrent texts into one model run per batch', async () => {
    const model = new CountingTextModel(info('v1'));
    const encoder = new CachedTextEncoder(model, new TextEmbeddingCache(100), options);
    const texts = Array.from({ length: 20 }, (_, i) => `query number ${i}`);
    const vectors = await Promise.all(texts.map((t) => encoder.embedTexts([t])));
    assert.deepEqual(
      model.runs.map((r) => r.length),
      [16, 4],
    );
    vectors.forEach(([v], i) => assert.equal(v[0], texts[i].length, `vector ${i} belongs to its text`));
  });

  it('runs a lone text at once, and queues arrivals during a run for the next one', async () => {
    const model = new CountingTextModel(info('v1'));
    const encoder = new CachedTextEncoder(model, new TextEmbeddingCache(100), options);
    let open!: () => void;
    model.gate = new Promise((resolve) => (open = resolve));
    const first = encoder.embedTexts(['first']);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(model.runs, [['first']], 'started without waiting for company');
    const later = ['b', 'c', 'd', 'e', 'f'].map((t) => encoder.embedTexts([t]));
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(model.runs.length, 1, 'nothing else runs while the model is busy');
    open();
    await Promise.all([first, ...later]);
    assert.deepEqual(model.runs, [['first'], ['b', 'c', 'd', 'e', 'f']]);
  });

  it('lets identical texts in flight share one encode', async () => {
    const model = new CountingTextModel(info('v1'));
    const encoder = new CachedTextEncoder(model, new TextEmbeddingCache(100), options);
    const results = await Promise.all([encoder.embedTexts(['same', 'same']), encoder.embedTexts(['same'])]);
    assert.deepEqual(model.runs, [['same']]);
    assert.deepEqual(results[0][0], results[1][0]);
    assert.equal(encoder.stats.joined, 2);
  });

  it('with size 0 caches nothing but still batches', async () => {
    const model = new CountingTextModel(info('v1'));
    const encoder = new CachedTextEncoder(model, new TextEmbeddingCache(0), options);
    await encoder.embedTexts(['x']);
    await encoder.embedTexts(['x']);
    assert.equal(model.runs.length, 2);
  });

  it('gives the in-process CLIP encoder’s own vectors, batched or not', { timeout: 60_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'adseed-cached-text-'));
    try {
      await generateClipModels({ kind: 'toy', outDir: dir, tokenizerDir: sharedClipTokenizerDir() });
      const clip = await OnnxClipEncoder.load({ modelDir: dir, intraOpThreads: 1 });
      try {
        const encoder = new CachedTextEncoder(clip, new TextEmbeddingCache(100), options);
        const texts = ['a red image', 'blue', 'a photo of a green field with yellow flowers', ''];
        const viaCache = (await Promise.all(texts.map((t) => encoder.embedTexts([t])))).map(([v]) => v);
        assert.equal(encoder.stats.modelCalls, 1, 'the four concurrent texts shared one run');
        for (let i = 0; i < texts.length; i++) {
          const [direct] = await clip.embedTexts([texts[i]]);
          let dot = 0;
          for (let j = 0; j < direct.length; j++) dot += direct[j] * viaCache[i][j];
          assert.ok(dot > 1 - 1e-5, `text ${i}`);
        }
      } finally {
        await clip.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe(TextEmbeddingCache.name, () => {
  it('evicts the least recently used entry', () => {
    const cache = new TextEmbeddingCache(2);
    cache.set('a', Float32Array.of(1));
    cache.set('b', Float32Array.of(2));
    assert.ok(cache.get('a'), 'a is now the most recently used');
    cache.set('c', Float32Array.of(3));
    assert.equal(cache.size, 2);
    assert.equal(cache.get('b'), undefined);
    assert.deepEqual(cache.get('a'), Float32Array.of(1));
    assert.deepEqual(cache.get('c'), Float32Array.of(3));
  });

  it('keys by model id, version and text without collisions', () => {
    assert.notEqual(TextEmbeddingCache.key('m', 'v1', 'x'), TextEmbeddingCache.key('m', 'v1x', ''));
    assert.notEqual(TextEmbeddingCache.key('m', 'v', 'x'), TextEmbeddingCache.key('mv', '', 'x'));
  });
});

describe(DrainBatcher.name, () => {
  it('isolates a failing item instead of failing its whole batch', async () => {
    const batcher = new DrainBatcher<number, number>(
      async (xs) => {
        if (xs.includes(13)) throw new Error('bad 13');
        return xs.map((x) => x * 2);
      },
      { maxBatch: 8, windowMs: 0 },
    );
    const results = await Promise.allSettled([1, 13, 3].map((x) => batcher.add(x)));
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.equal((results[2] as PromiseFulfilledResult<number>).value, 6);
  });
});
