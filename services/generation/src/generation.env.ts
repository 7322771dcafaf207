import { envInt } from '@adseed/config';
import { z } from 'zod';

export const GenerationEnv = z.object({
  ADSEED_GENERATOR: z.enum(['local', 'replicate']).default('local'),
  REPLICATE_API_TOKEN: z.string().optional(),
  REPLICATE_MODEL: z.string().default('flux-kontext-apps/multi-image-kontext-pro'),
  ADSEED_AD_SIZE: envInt(1080, 1080, 2048),
});
export type GenerationEnv = z.infer<typeof GenerationEnv>;
