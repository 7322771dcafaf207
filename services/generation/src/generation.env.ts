import { ALWAYS, envInt } from '@adseed/config';
import { z } from 'zod';

/** The service's name: its runtime's, and the one its provenance records name. */
export const GENERATION_SERVICE = 'generation';

export const GenerationEnv = z
  .object({
    ADSEED_GENERATOR: z.enum(['local', 'replicate']).default('local'),
    /** Secret. Required when ADSEED_GENERATOR=replicate. */
    REPLICATE_API_TOKEN: z.string().optional(),
    REPLICATE_MODEL: z
      .string()
      .regex(/^[\w.-]+\/[\w.-]+$/, 'must be owner/name')
      .default('flux-kontext-apps/multi-image-kontext-pro'),
    /** A version id (or owner/name:version) pins the model; unset uses the model's latest via the official-model route. */
    REPLICATE_MODEL_VERSION: z.string().optional(),
    REPLICATE_BASE_URL: z.url().default('https://api.replicate.com/v1'),
    /** Whole-generation deadline; keep it below ADSEED_REQUEST_TIMEOUT_MS so the caller hears why. */
    REPLICATE_TIMEOUT_MS: envInt(25_000, 1_000, 600_000),
    REPLICATE_MAX_ATTEMPTS: envInt(3, 1, 10),
    REPLICATE_BREAKER_FAILURES: envInt(5, 1, 1_000),
    REPLICATE_BREAKER_COOLDOWN_MS: envInt(30_000, 0, 3_600_000),
    ADSEED_AD_SIZE: envInt(1080, 1080, 2048),
    /** Where job state lives; a job ad is skipped once its job is cancelled there. */
    ADSEED_BUCKET_STATE: z.string().default('state'),
  })
  .superRefine((env, ctx) => {
    if (env.ADSEED_GENERATOR === 'replicate' && !env.REPLICATE_API_TOKEN) {
      ctx.addIssue({ code: 'custom', path: ['REPLICATE_API_TOKEN'], message: 'is required when ADSEED_GENERATOR=replicate' });
    }
  }, ALWAYS);
export type GenerationEnv = z.infer<typeof GenerationEnv>;
