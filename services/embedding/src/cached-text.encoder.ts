import { DrainBatcher } from './drain-batcher';
import type { EncoderInfo, TextEncoder } from './encoders/encoder.port';
import { SharedTextVectors, TextEmbeddingCache, type VectorSource } from './text-embedding.cache';

export interface CachedTextEncoderOptions {
  /** Texts per model run. */
  readonly maxBatch: number;
  /** How long an idle model waits for more texts before a run; 0: only those of the same tick. */
  readonly windowMs: number;
  /** Called after each model run, e.g. for metrics. */
  readonly onBatch?: (size: number, seconds: number) => void;
}

export interface CachedTextEncoderStats {
  /** Texts answered from the cache. */
  hits: number;
  /** Texts sent to the model. */
  misses: number;
  /** Texts that joined an identical text already on its way to the model. */
  joined: number;
  /** Model runs (each one embedTexts call on the wrapped encoder). */
  modelCalls: number;
}

const STAT_OF: Record<VectorSource, keyof CachedTextEncoderStats> = { hit: 'hits', joined: 'joined', miss: 'misses' };

/**
 * The query side of a text encoder: answers repeated texts from a shared LRU cache (keyed by
 * model id, version and text), lets identical texts in flight share one encode, and merges
 * concurrent texts into batched model runs (DrainBatcher). Vectors handed out are copies, so a
 * caller cannot change what the cache holds. Does not own the wrapped encoder: close it there.
 */
export class CachedTextEncoder implements Pick<TextEncoder, 'info' | 'embedTexts'> {
  readonly stats: CachedTextEncoderStats = { hits: 0, misses: 0, joined: 0, modelCalls: 0 };
  private readonly vectors: SharedTextVectors;
  private readonly batcher: DrainBatcher<string, Float32Array>;

  constructor(
    private readonly inner: Pick<TextEncoder, 'info' | 'embedTexts'>,
    cache: TextEmbeddingCache,
    options: CachedTextEncoderOptions,
  ) {
    this.vectors = new SharedTextVectors(cache);
    this.batcher = new DrainBatcher(
      (texts) => {
        this.stats.modelCalls++;
        return this.inner.embedTexts(texts);
      },
      { maxBatch: options.maxBatch, windowMs: options.windowMs, onBatch: options.onBatch },
    );
  }

  get info(): EncoderInfo {
    return this.inner.info;
  }

  embedTexts(texts: readonly string[]): Promise<Float32Array[]> {
    const { modelId, modelVersion } = this.inner.info;
    return Promise.all(
      texts.map(async (text) => {
        const { vector, source } = this.vectors.get(TextEmbeddingCache.key(modelId, modelVersion, text), () => this.batcher.add(text));
        this.stats[STAT_OF[source]]++;
        return (await vector).slice();
      }),
    );
  }
}
