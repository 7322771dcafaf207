import type { NSFWJS } from 'nsfwjs';
import sharp from 'sharp';
import { NSFW_CLASS_NAMES, type NsfwClass, type NsfwModelName } from './nsfw-classes';

export { DEFAULT_NSFW_ONNX_PATH } from './nsfw-classes';

export const NSFW_INPUT_SIZE: Record<NsfwModelName, number> = { MobileNetV2: 224, MobileNetV2Mid: 224, InceptionV3: 299 };

/** Where the classifier runs: tfjs's WebAssembly backend (default), its pure-JS CPU backend, or onnxruntime on the converted model. */
export type NsfwRuntime = 'tfjs' | 'tfjs-cpu' | 'onnx';
export const NSFW_RUNTIMES: readonly NsfwRuntime[] = ['tfjs', 'tfjs-cpu', 'onnx'];

export interface NsfwScorerOptions {
  model: NsfwModelName;
  runtime?: NsfwRuntime;
  /** runtime onnx: the file libs/guardrails/onnx/convert.sh made. */
  onnxPath?: string;
  /** runtime onnx: intra-op threads (default 1, as tfjs-wasm here). */
  onnxThreads?: number;
}

/** Every class's probability for one image (in NSFW_CLASS_NAMES order), in one thread: the caller's. */
export interface NsfwScorer {
  probabilities(image: Uint8Array): Promise<number[]>;
}

/**
 * The image decoded and squashed to the model's square input with sharp (as nsfwjs's own bilinear
 * resize would): `size × size × 3` RGB bytes.
 */
export async function nsfwPixels(image: Uint8Array, size: number): Promise<Buffer> {
  const { data } = await sharp(image)
    .rotate()
    .resize(size, size, { fit: 'fill' })
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return data;
}

/** The probabilities as verdicts report them: per class, to 4 decimals. */
export const nsfwScores = (probabilities: ArrayLike<number>): Record<NsfwClass, number> => {
  const out = {} as Record<NsfwClass, number>;
  NSFW_CLASS_NAMES.forEach((c, i) => (out[c] = Math.round(probabilities[i] * 10_000) / 10_000));
  return out;
};

/**
 * Loads one of the models nsfwjs bundles (weights inside the npm package, nothing downloaded) on
 * tfjs's WebAssembly backend, which needs no native build (about 20× the pure-JS CPU backend
 * here; `cpu` stays available for gradients, which the WebAssembly kernels lack).
 */
export async function loadNsfwModel(name: NsfwModelName, backend: 'wasm' | 'cpu' = 'wasm'): Promise<NSFWJS> {
  // tfjs loads only when a tfjs runtime is chosen.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const tf = require('@tensorflow/tfjs') as typeof import('@tensorflow/tfjs');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('@tensorflow/tfjs-backend-wasm');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { load } = require('nsfwjs') as typeof import('nsfwjs');
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

/** The label of a model on a runtime, as verdicts report it: `nsfwjs:MobileNetV2`, `nsfwjs:MobileNetV2/onnx`. */
export const nsfwModelLabel = (model: NsfwModelName, runtime: NsfwRuntime = 'tfjs'): string => `nsfwjs:${model}${runtime === 'onnx' ? '/onnx' : ''}`;

/** Loads the model on the chosen runtime (tfjs, onnxruntime-node: each loaded only if chosen). */
export async function loadNsfwScorer(options: NsfwScorerOptions): Promise<NsfwScorer> {
  const size = NSFW_INPUT_SIZE[options.model];
  const runtime = options.runtime ?? 'tfjs';
  if (runtime === 'onnx') {
    if (!options.onnxPath) throw new Error('runtime onnx needs the converted model (libs/guardrails/onnx/convert.sh)');
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const ort = require('onnxruntime-node') as typeof import('onnxruntime-node');
    const threads = options.onnxThreads ?? 1;
    const session = await ort.InferenceSession.create(options.onnxPath, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // Idle intra-op threads spinning would steal the core the event loop and sharp need.
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
    const [input] = session.inputNames;
    const [output] = session.outputNames;
    return {
      async probabilities(image) {
        const pixels = await nsfwPixels(image, size);
        // nsfwjs feeds the model pixels / 255 (float32), NHWC.
        const floats = new Float32Array(pixels.length);
        for (let i = 0; i < pixels.length; i++) floats[i] = pixels[i] / 255;
        const result = await session.run({ [input]: new ort.Tensor('float32', floats, [1, size, size, 3]) });
        return Array.from(result[output].data as Float32Array);
      },
    };
  }
  const model = await loadNsfwModel(options.model, runtime === 'tfjs-cpu' ? 'cpu' : 'wasm');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const tf = require('@tensorflow/tfjs') as typeof import('@tensorflow/tfjs');
  return {
    async probabilities(image) {
      const pixels = tf.tensor3d(new Int32Array(await nsfwPixels(image, size)), [size, size, 3], 'int32');
      try {
        // classify() sorts by probability; put them back in the model's order.
        const predictions = await model.classify(pixels, NSFW_CLASS_NAMES.length);
        const byName = new Map(predictions.map((p) => [p.className.toLowerCase(), p.probability]));
        return NSFW_CLASS_NAMES.map((c) => byName.get(c) ?? 0);
      } finally {
        pixels.dispose();
      }
    },
  };
}
