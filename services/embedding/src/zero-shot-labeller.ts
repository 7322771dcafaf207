import type { ImageTextEncoder } from './encoders/encoder.port';

export interface ZeroShotLabel {
  label: string;
  score: number;
}

/**
 * Zero-shot labels: the CLIP text tower embeds "a photo of <label>" once per label of a
 * configured vocabulary; each image gets the labels whose cosine with its image vector reaches
 * `minScore`, best first, at most `top`. Only meaningful with real CLIP weights (the agent's
 * subject catalogue turns the labels into subjects).
 */
export class ZeroShotLabeller {
  private vectors: Promise<Float32Array[]> | undefined;

  constructor(
    private readonly clip: Pick<ImageTextEncoder, 'embedTexts'>,
    readonly vocabulary: readonly string[],
    private readonly minScore: number,
    private readonly top: number,
  ) {}

  async label(image: Float32Array): Promise<ZeroShotLabel[]> {
    if (this.vocabulary.length === 0) return [];
    if (!this.vectors) {
      this.vectors = this.clip.embedTexts(this.vocabulary.map((l) => `a photo of ${l}`));
      // a failed attempt is retried with the next image
      this.vectors.catch(() => (this.vectors = undefined));
    }
    const vectors = await this.vectors;
    return vectors
      .map((v, i) => ({ label: this.vocabulary[i], score: dot(image, v) }))
      .filter((l) => l.score >= this.minScore)
      .sort((a, b) => b.score - a.score)
      .slice(0, this.top);
  }
}

/** Both towers return L2-normalised vectors, so their dot product is the cosine. */
function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}
