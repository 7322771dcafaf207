/**
 * Least-recently-used cache of text embeddings, keyed by the encoder's model id and version and
 * the exact text: a new model version never serves the old model's vectors. A Map keeps
 * insertion order, so re-inserting on every hit makes its first key the least recently used.
 */
export class TextEmbeddingCache {
  private readonly entries = new Map<string, Float32Array>();

  /** `maxEntries` 0 turns the cache off. */
  constructor(readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 0) throw new Error(`TextEmbeddingCache: maxEntries must be a non-negative integer, got ${maxEntries}`);
  }

  static key(modelId: string, modelVersion: string, text: string): string {
    // NUL cannot occur in a model id or version, so distinct triples give distinct keys.
    return `${modelId}\u0000${modelVersion}\u0000${text}`;
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): Float32Array | undefined {
    const vector = this.entries.get(key);
    if (vector !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, vector);
    }
    return vector;
  }

  set(key: string, vector: Float32Array): void {
    if (this.maxEntries === 0) return;
    this.entries.delete(key);
    this.entries.set(key, vector);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }
}

/** Where `SharedTextVectors.get` found a vector. */
export type VectorSource = 'hit' | 'joined' | 'miss';

/**
 * A TextEmbeddingCache plus the encodes in flight: a key is encoded once, however many callers
 * ask for it before the model answers, and kept once it has (a failed encode is not kept: the
 * next caller tries again).
 */
export class SharedTextVectors {
  private readonly inflight = new Map<string, Promise<Float32Array>>();

  constructor(private readonly cache: TextEmbeddingCache) {}

  /** The vector for `key`: from the cache (`hit`), from an encode in flight (`joined`), or `encode()` now (`miss`). */
  get(key: string, encode: () => Promise<Float32Array>): { vector: Promise<Float32Array>; source: VectorSource } {
    const cached = this.cache.get(key);
    if (cached) return { vector: Promise.resolve(cached), source: 'hit' };
    const pending = this.inflight.get(key);
    if (pending) return { vector: pending, source: 'joined' };
    const vector = encode().then(
      (v) => {
        this.cache.set(key, v);
        this.inflight.delete(key);
        return v;
      },
      (error: unknown) => {
        this.inflight.delete(key);
        throw error;
      },
    );
    this.inflight.set(key, vector);
    return { vector, source: 'miss' };
  }
}
