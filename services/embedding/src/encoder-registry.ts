import { resolve } from 'node:path';
import type { EncoderStatus } from '@adseed/contracts';
import { traceMethods, type Logger } from '@adseed/telemetry';
import { MiniLmCaptionEncoder } from './encoders/caption/minilm-caption.encoder';
import { OnnxClipEncoder } from './encoders/clip/onnx-clip.encoder';
import type { ImageTextEncoder, TextEncoder } from './encoders/encoder.port';
import { OnnxWorkerHost } from './encoders/onnx-worker.session';
import { TritonClipEncoder } from './encoders/triton/triton-clip.encoder';
import type { EmbeddingEnv } from './embedding.env';

/** The encoders this process could load, and what their absence means for search quality. */
export interface LoadedEncoders {
  clip?: ImageTextEncoder;
  caption?: TextEncoder;
  status: EncoderStatus[];
  /** The worker thread the text models share (ended by closeEncoders). */
  textWorker?: OnnxWorkerHost;
}

export const ENCODERS = Symbol('ENCODERS');

export async function loadEncoders(env: EmbeddingEnv, logger: Logger): Promise<LoadedEncoders> {
  const loaded: LoadedEncoders = { status: [] };
  const threads = env.ADSEED_ENCODER_THREADS || undefined;
  // One worker thread for both text models: a query batch's CLIP and caption runs travel to it
  // in one message and come back in one.
  const textWorker = new OnnxWorkerHost();
  let textWorkerUsed = false;

  const clipDir = resolve(env.ADSEED_CLIP_MODEL_DIR);
  const clipProbe = env.ADSEED_ENCODER === 'onnx' ? await OnnxClipEncoder.probe(clipDir) : undefined;
  if (env.ADSEED_ENCODER === 'triton') {
    // A misconfigured or unreachable Triton fails start-up (unless the ONNX fallback is on):
    // silently indexing without CLIP would be worse.
    const triton = await TritonClipEncoder.load({
      endpoints: env.TRITON_ENDPOINTS,
      modelDir: clipDir,
      timeoutMs: env.TRITON_TIMEOUT_MS,
      imageModel: env.TRITON_CLIP_IMAGE_MODEL,
      textModel: env.TRITON_CLIP_TEXT_MODEL,
      batchSize: env.ADSEED_ENCODER_BATCH_SIZE,
      fallbackToOnnx: env.TRITON_FALLBACK_ONNX,
      intraOpThreads: threads,
      spinThreads: env.ADSEED_ENCODER_SPIN,
      maxPixels: env.ADSEED_MAX_IMAGE_PIXELS,
      logger: logger.child({ component: 'triton' }),
    });
    loaded.clip = triton;
    const model = { id: triton.info.modelId, version: triton.info.modelVersion };
    const fallback = env.TRITON_FALLBACK_ONNX ? `, in-process ONNX fallback from ${clipDir}` : '';
    loaded.status.push({
      name: 'clip',
      loaded: true,
      model,
      note: `image-text search with ${model.id} (${model.version}) on Triton ${env.TRITON_ENDPOINTS.join(', ')}${fallback}`,
    });
  } else if (clipProbe?.ok) {
    loaded.clip = await OnnxClipEncoder.load({
      modelDir: clipDir,
      batchSize: env.ADSEED_ENCODER_BATCH_SIZE,
      intraOpThreads: threads,
      textWorker,
      spinThreads: env.ADSEED_ENCODER_SPIN,
    });
    textWorkerUsed = true;
    const model = { id: loaded.clip.info.modelId, version: loaded.clip.info.modelVersion };
    loaded.status.push({ name: 'clip', loaded: true, model, note: `image-text search with ${model.id} (${model.version}) from ${clipDir}` });
  } else {
    loaded.status.push({
      name: 'clip',
      loaded: false,
      note:
        `no CLIP weights in ${clipDir} (${clipProbe?.reason ?? 'not found'}): images are indexed by caption only, so ` +
        'search matches captions, tags and file names, not what the photo shows. `npm run models:fetch` on a machine ' +
        'with internet access fetches the pinned CLIP ViT-B/32 weights.',
    });
  }

  const captionDir = resolve(env.ADSEED_CAPTION_MODEL_DIR);
  const captionProbe = await MiniLmCaptionEncoder.probe(captionDir);
  if (captionProbe.ok) {
    loaded.caption = await MiniLmCaptionEncoder.load({
      modelDir: captionDir,
      intraOpThreads: threads,
      worker: textWorker,
      spinThreads: env.ADSEED_ENCODER_SPIN,
    });
    textWorkerUsed = true;
    const model = { id: loaded.caption.info.modelId, version: loaded.caption.info.modelVersion };
    loaded.status.push({ name: 'caption', loaded: true, model, note: `caption search with ${model.id} (${model.version})` });
  } else {
    loaded.status.push({
      name: 'caption',
      loaded: false,
      note: `no caption encoder in ${captionDir} (${captionProbe.reason ?? 'not found'}): run \`npm run models:fetch\``,
    });
  }

  if (textWorkerUsed) loaded.textWorker = textWorker;
  else await textWorker.terminate();

  // Every encoder call is a span (batched calls hang under the request that filled the batch).
  if (loaded.clip)
    loaded.clip = traceMethods(loaded.clip, 'ClipEncoder', {
      methods: ['embedImages', 'embedTexts'],
      attributes: (_m, args) => ({ 'adseed.encoder.inputs': (args[0] as unknown[]).length }),
    });
  if (loaded.caption)
    loaded.caption = traceMethods(loaded.caption, 'CaptionEncoder', {
      methods: ['embedTexts'],
      attributes: (_m, args) => ({ 'adseed.encoder.inputs': (args[0] as unknown[]).length }),
    });
  for (const s of loaded.status) {
    if (s.loaded) logger.info(`encoder ${s.name}: ${s.note}`);
    else logger.warn(`encoder ${s.name}: ${s.note}`);
  }
  if (!loaded.clip && !loaded.caption) logger.error('no encoder loaded: nothing can be indexed or searched');
  return loaded;
}

export async function closeEncoders(encoders: LoadedEncoders): Promise<void> {
  await encoders.clip?.close();
  await encoders.caption?.close();
  await encoders.textWorker?.terminate();
}
