import { resolve } from 'node:path';
import type { EncoderStatus } from '@adseed/contracts';
import type { Logger } from '@adseed/telemetry';
import { MiniLmCaptionEncoder } from './encoders/caption/minilm-caption.encoder';
import { OnnxClipEncoder } from './encoders/clip/onnx-clip.encoder';
import type { ImageTextEncoder, TextEncoder } from './encoders/encoder.port';
import type { EmbeddingEnv } from './embedding.env';

/** The encoders this process could load, and what their absence means for search quality. */
export interface LoadedEncoders {
  clip?: ImageTextEncoder;
  caption?: TextEncoder;
  status: EncoderStatus[];
}

export const ENCODERS = Symbol('ENCODERS');

export async function loadEncoders(env: EmbeddingEnv, logger: Logger): Promise<LoadedEncoders> {
  if (env.ADSEED_ENCODER === 'triton') {
    throw new Error('ADSEED_ENCODER=triton: the Triton (KServe v2) adapter is not part of this build yet; use ADSEED_ENCODER=onnx');
  }
  const loaded: LoadedEncoders = { status: [] };
  const threads = env.ADSEED_ENCODER_THREADS || undefined;

  const clipDir = resolve(env.ADSEED_CLIP_MODEL_DIR);
  const clipProbe = await OnnxClipEncoder.probe(clipDir);
  if (clipProbe.ok) {
    loaded.clip = await OnnxClipEncoder.load({ modelDir: clipDir, batchSize: env.ADSEED_ENCODER_BATCH_SIZE, intraOpThreads: threads });
    const model = { id: loaded.clip.info.modelId, version: loaded.clip.info.modelVersion };
    loaded.status.push({ name: 'clip', loaded: true, model, note: `image-text search with ${model.id} (${model.version}) from ${clipDir}` });
  } else {
    loaded.status.push({
      name: 'clip',
      loaded: false,
      note:
        `no CLIP weights in ${clipDir} (${clipProbe.reason ?? 'not found'}): images are indexed by caption only, so ` +
        'search matches captions, tags and file names, not what the photo shows. `npm run models:fetch` on a machine ' +
        'with internet access fetches the pinned CLIP ViT-B/32 weights.',
    });
  }

  const captionDir = resolve(env.ADSEED_CAPTION_MODEL_DIR);
  const captionProbe = await MiniLmCaptionEncoder.probe(captionDir);
  if (captionProbe.ok) {
    loaded.caption = await MiniLmCaptionEncoder.load({ modelDir: captionDir, intraOpThreads: threads });
    const model = { id: loaded.caption.info.modelId, version: loaded.caption.info.modelVersion };
    loaded.status.push({ name: 'caption', loaded: true, model, note: `caption search with ${model.id} (${model.version})` });
  } else {
    loaded.status.push({
      name: 'caption',
      loaded: false,
      note: `no caption encoder in ${captionDir} (${captionProbe.reason ?? 'not found'}): run \`npm run models:fetch\``,
    });
  }

  for (const s of loaded.status) (s.loaded ? logger.info : logger.warn).call(logger, `encoder ${s.name}: ${s.note}`);
  if (!loaded.clip && !loaded.caption) logger.error('no encoder loaded: nothing can be indexed or searched');
  return loaded;
}

export async function closeEncoders(encoders: LoadedEncoders): Promise<void> {
  await encoders.clip?.close();
  await encoders.caption?.close();
}
