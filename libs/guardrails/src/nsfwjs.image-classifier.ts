import { NSFW_CLASS_NAMES, type NsfwClass, type NsfwModelName } from './nsfw-classes';
import { ImageModerationUnavailableError, type ImageGuardrail, type ImageVerdict } from './image-guardrail.port';
import { loadNsfwScorer, nsfwModelLabel, nsfwScores, type NsfwRuntime, type NsfwScorer } from './nsfw-scorer';

export { NSFW_CLASS_NAMES, type NsfwClass, type NsfwModelName };
export { loadNsfwModel } from './nsfw-scorer';

export interface NsfwjsImageGuardrailOptions {
  model: NsfwModelName;
  /** A class is a reason to flag when its probability reaches its threshold; classes without one never flag. */
  thresholds: Partial<Record<NsfwClass, number>>;
  /** tfjs's WebAssembly backend (default), its CPU backend, or onnxruntime on the converted model (`onnxPath`). */
  runtime?: NsfwRuntime;
  onnxPath?: string;
  onnxThreads?: number;
}

/** Throws unless every threshold names an nsfwjs class and lies in (0, 1]. */
export function checkNsfwThresholds(thresholds: Partial<Record<NsfwClass, number>>): void {
  for (const [name, threshold] of Object.entries(thresholds)) {
    if (!NSFW_CLASS_NAMES.includes(name as NsfwClass) || !(Number(threshold) > 0 && Number(threshold) <= 1))
      throw new Error(`threshold ${name}:${threshold} must name an nsfwjs class and lie in (0, 1]`);
  }
}

/** The verdict on a model's probabilities: flagged for every class whose score reaches its threshold. */
export function nsfwVerdict(probabilities: ArrayLike<number>, thresholds: Partial<Record<NsfwClass, number>>, model: string): ImageVerdict {
  const scores = nsfwScores(probabilities);
  const reasons = NSFW_CLASS_NAMES.filter((c) => thresholds[c] !== undefined && scores[c] >= thresholds[c]);
  return { flagged: reasons.length > 0, reasons, scores, model };
}

/**
 * nsfwjs on the caller's thread: the image is decoded and squashed to the model's square input
 * with sharp (as nsfwjs's own bilinear resize would), classified, and flagged per class
 * threshold. The model loads once, on first use or on `warmUp()`. Classifying blocks the thread
 * for the whole inference (≈ 300 ms on tfjs-wasm), so the gateway runs it in a worker thread
 * (WorkerImageGuardrail, built on this class inside the worker).
 */
export class NsfwjsImageGuardrail implements ImageGuardrail {
  readonly model: string;
  private loading: Promise<NsfwScorer> | undefined;

  constructor(private readonly options: NsfwjsImageGuardrailOptions) {
    checkNsfwThresholds(options.thresholds);
    this.model = nsfwModelLabel(options.model, options.runtime);
  }

  warmUp(): Promise<NsfwScorer> {
    this.loading ??= loadNsfwScorer(this.options).catch((error: Error) => {
      this.loading = undefined;
      throw new ImageModerationUnavailableError(`the image classifier ${this.model} could not load: ${error.message}`);
    });
    return this.loading;
  }

  /** Every class's probability, unrounded, in NSFW_CLASS_NAMES order. */
  async probabilities(image: Uint8Array): Promise<number[]> {
    return (await this.warmUp()).probabilities(image);
  }

  async check(image: Buffer): Promise<ImageVerdict> {
    return nsfwVerdict(await this.probabilities(image), this.options.thresholds, this.model);
  }
}
