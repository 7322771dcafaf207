import { ALWAYS, envBoolean, envInt, envList } from '@adseed/config';
import { z } from 'zod';

export const EmbeddingEnv = z
  .object({
    ADSEED_ENCODER: z.enum(['onnx', 'triton']).default('onnx'),
    ADSEED_CLIP_MODEL_DIR: z.string().default('.cache/models/clip-vit-base-patch32'),
    ADSEED_CAPTION_MODEL_DIR: z.string().default('.cache/models/all-minilm-l6-v2'),
    ADSEED_ENCODER_BATCH_SIZE: envInt(16, 1, 256),
    ADSEED_ENCODER_BATCH_WAIT_MS: envInt(15, 0, 1_000),
    ADSEED_ENCODER_THREADS: envInt(0, 0, 64),
    // Let idle onnxruntime threads spin-wait: faster on an idle machine with one session busy,
    // much slower when sessions or processes share the cores (see encoders/onnx-threads.ts).
    ADSEED_ENCODER_SPIN: envBoolean(false),
    ADSEED_MAX_IMAGE_PIXELS: envInt(40_000_000, 1, 500_000_000),
    // Query texts: embeddings cached (entries, both towers together; 0 = off; the ingest's caption
    // vectors have a second cache of this size) and how long an idle text model waits to batch
    // concurrent queries (0 = only those arriving in the same tick).
    ADSEED_TEXT_CACHE_SIZE: envInt(10_000, 0, 10_000_000),
    ADSEED_TEXT_BATCH_WAIT_MS: envInt(0, 0, 1_000),
    // Zero-shot labels (needs CLIP weights): a vocabulary of subjects each image is scored against;
    // labels whose cosine reaches the minimum (the CLIP relevance floor) become catalogue subjects.
    ADSEED_ZERO_SHOT_LABELS: envList(),
    ADSEED_ZERO_SHOT_MIN_SCORE: z.coerce.number().min(-1).max(1).default(0.24),
    ADSEED_ZERO_SHOT_TOP: envInt(2, 1, 16),
    // How asset.embedded carries its vectors: JSON number arrays (every consumer version reads
    // them) or base64 little-endian float32 (a quarter of the bytes, no number formatting; needs
    // consumers that accept it: retrieval since this option exists). The one-process mode uses float32.
    ADSEED_EVENT_VECTORS: z.enum(['json', 'float32']).default('json'),
    // ADSEED_ENCODER=triton: KServe v2 gRPC endpoints in order of preference.
    TRITON_ENDPOINTS: envList().pipe(z.array(z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:/]+):\d{1,5}$/, 'each endpoint must be host:port'))),
    TRITON_FALLBACK_ONNX: envBoolean(false),
    TRITON_TIMEOUT_MS: envInt(10_000, 1, 600_000),
    TRITON_CLIP_IMAGE_MODEL: z.string().min(1).default('clip_image'),
    TRITON_CLIP_TEXT_MODEL: z.string().min(1).default('clip_text'),
  })
  .superRefine((env, ctx) => {
    if (env.ADSEED_ENCODER === 'triton' && env.TRITON_ENDPOINTS.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['TRITON_ENDPOINTS'], message: 'required with ADSEED_ENCODER=triton: comma-separated host:port list' });
    }
  }, ALWAYS);
export type EmbeddingEnv = z.infer<typeof EmbeddingEnv>;
