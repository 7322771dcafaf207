import { envInt } from '@adseed/config';
import { z } from 'zod';

export const EmbeddingEnv = z.object({
  ADSEED_ENCODER: z.enum(['onnx', 'triton']).default('onnx'),
  ADSEED_CLIP_MODEL_DIR: z.string().default('.cache/models/clip-vit-base-patch32'),
  ADSEED_CAPTION_MODEL_DIR: z.string().default('.cache/models/all-minilm-l6-v2'),
  ADSEED_ENCODER_BATCH_SIZE: envInt(16, 1, 256),
  ADSEED_ENCODER_BATCH_WAIT_MS: envInt(15, 0, 1_000),
  ADSEED_ENCODER_THREADS: envInt(0, 0, 64),
  ADSEED_MAX_IMAGE_PIXELS: envInt(40_000_000, 1, 500_000_000),
});
export type EmbeddingEnv = z.infer<typeof EmbeddingEnv>;
