import { ALWAYS, envBoolean, envInt } from '@adseed/config';
import { RELEVANCE_FLOOR_DEFAULTS } from './relevance-floor';
import { z } from 'zod';

/** Letters, digits, `_ . -`: what Qdrant accepts in collection and alias names. */
const qdrantNamePart = z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, 'use 1-100 letters, digits, _ . -');

export const RetrievalEnv = z
  .object({
    ADSEED_INDEX: z.enum(['embedded', 'qdrant']).default('embedded'),
    QDRANT_URL: z.string().url().optional(),
    QDRANT_API_KEY: z.string().optional(),
    /** Alias `<prefix>-assets`, collections `<prefix>-assets-<version>`. */
    QDRANT_COLLECTION_PREFIX: qdrantNamePart.default('adseed'),
    /** Collection created when the alias does not exist yet; later generations come from a reindex. */
    QDRANT_COLLECTION_VERSION: qdrantNamePart.default('v1'),
    QDRANT_TIMEOUT_MS: envInt(10_000, 100, 600_000),
    ADSEED_CLIP_DIM: envInt(512, 1, 4096),
    ADSEED_CAPTION_DIM: envInt(384, 1, 4096),
    /** Reciprocal-rank-fusion constant: larger flattens the weight of top ranks. */
    ADSEED_RRF_K: envInt(60, 1, 1000),
    /**
     * Relevance floors (cosine) per encoder: a seed is returned only when one encoder's cosine
     * reaches its floor. Calibrated on matching vs non-matching pairs (README, "Relevance floor").
     */
    ADSEED_FLOOR_CLIP: z.coerce.number().min(-1).max(1).default(RELEVANCE_FLOOR_DEFAULTS.clip),
    ADSEED_FLOOR_CAPTION: z.coerce.number().min(-1).max(1).default(RELEVANCE_FLOOR_DEFAULTS.caption),
    /** When true, a seed without a licence counts as unlicensed and is never returned. */
    ADSEED_REQUIRE_LICENCE: envBoolean(false),
  })
  .superRefine((env, ctx) => {
    if (env.ADSEED_INDEX === 'qdrant' && !env.QDRANT_URL) {
      ctx.addIssue({ code: 'custom', path: ['QDRANT_URL'], message: 'required when ADSEED_INDEX=qdrant (e.g. http://qdrant:6333)' });
    }
  }, ALWAYS);
export type RetrievalEnv = z.infer<typeof RetrievalEnv>;
