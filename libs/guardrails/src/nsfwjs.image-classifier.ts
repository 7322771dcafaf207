import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { load, type NSFWJS } from 'nsfwjs';
import sharp from 'sharp';
import { NSFW_CLASS_NAMES, type NsfwClass, type NsfwModelName } from './nsfw-classes';
import { ImageModerationUnavailableError, type ImageGuardrail, type ImageVerdict } from './image-guardrail.port';

export { NSFW_CLASS_NAMES, type NsfwClass, type NsfwModelName };
const INPUT_SIZE: Record<NsfwModelName, number> = { MobileNetV2: 224, MobileNetV2Mid: 224, InceptionV3: 299 };

/**
 * Loads one of the models nsfwjs bundles (weights inside the npm package, nothing downloaded) on
 * tfjs's WebAssembly backend, which needs no native build (about 20× the pure-JS CPU backend
 * here; `cpu` stays available for gradients, which the WebAssembly kernels lack).
 */
export async function loadNsfwModel(name: NsfwModelName, backend: 'wasm' | 'cpu' = 'wasm'): Promise<NSFWJS> {
  if (tf.getBackend() !== backend && !(await tf.setBackend(backend))) throw new Error(`tfjs backend ${backend} is not available`);
  await tf.ready();
  tf.enableProdMode();
  // nsfwjs announces the bundled model on the console once; our logs are structured.
  const info = console.info;
  console.info = () => undefined;
  try {
    return await load(name);
  } finally {
    console.info = info;
  }
}

export interface NsfwjsImageGuardrailOptions {
  model: NsfwModelName;
  /** A class is a reason to flag when its probability reaches its threshold; classes without one never flag. */
  thresholds: Partial<Record<NsfwClass, number>>;
  backend?: 'wasm' | 'cpu';
}

/**
 * The one adapter for nsfwjs: the image is decoded and squashed to the model's square input with
 * sharp (as nsfwjs's own bilinear resize would), classified, and flagged per class threshold.
 * The model loads once, on first use or on `warmUp()`.
 */
export class NsfwjsImageGuardrail implements ImageGuardrail {
  readonly model: string;
  private loading: Promise<NSFWJS> | undefined;

  constructor(private readonly options: NsfwjsImageGuardrailOptions) {
    for (const [name, threshold] of Object.entries(options.thresholds)) {
      if (!NSFW_CLASS_NAMES.includes(name as NsfwClass) || !(Number(threshold) > 0 && Number(threshold) <= 1)) throw new Error(`threshold ${name}:${threshold} must name an nsfwjs class and lie in (0, 1]`);
    }
    this.model = `nsfwjs:${options.model}`;
  }

  warmUp(): Promise<NSFWJS> {
    this.loading ??= loadNsfwModel(this.options.model, this.options.backend).catch((error: Error) => {
      this.loading = undefined;
      throw new ImageModerationUnavailableError(`the image classifier ${this.model} could not load: ${error.message}`);
    });
    return this.loading;
  }

  async check(image: Buffer): Promise<ImageVerdict> {
    const model = await this.warmUp();
    const size = INPUT_SIZE[this.options.model];
    const { data } = await sharp(image).rotate().resize(size, size, { fit: 'fill' }).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    const pixels = tf.tensor3d(new Int32Array(data), [size, size, 3], 'int32');
    let predictions: { className: string; probability: number }[];
    try {
      predictions = await model.classify(pixels, NSFW_CLASS_NAMES.length);
    } finally {
      pixels.dispose();
    }
    const scores: Record<string, number> = {};
    for (const p of predictions) scores[p.className.toLowerCase()] = Math.round(p.probability * 10_000) / 10_000;
    const reasons = NSFW_CLASS_NAMES.filter((c) => this.options.thresholds[c] !== undefined && (scores[c] ?? 0) >= this.options.thresholds[c]);
    return { flagged: reasons.length > 0, reasons, scores, model: this.model };
  }
}
