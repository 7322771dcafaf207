import { envInt } from '@adseed/config';
import { z } from 'zod';

export const RetrievalEnv = z.object({
  ADSEED_INDEX: z.enum(['embedded', 'qdrant']).default('embedded'),
  QDRANT_URL: z.string().url().optional(),
  QDRANT_API_KEY: z.string().optional(),
  ADSEED_CLIP_DIM: envInt(512, 1, 4096),
  ADSEED_CAPTION_DIM: envInt(384, 1, 4096),
  /** Reciprocal-rank-fusion constant: larger flattens the weight of top ranks. */
  ADSEED_RRF_K: envInt(60, 1, 1000),
});
export type RetrievalEnv = z.infer<typeof RetrievalEnv>;
