import { ALWAYS, envInt } from '@adseed/config';
import { z } from 'zod';

export const AgentEnv = z
  .object({
    ADSEED_LLM: z.enum(['catalogue', 'openai']).default('catalogue'),
    OPENAI_BASE_URL: z.string().url().default('https://api.openai.com/v1'),
    OPENAI_MODEL: z.string().default('gpt-4o-mini'),
    OPENAI_API_KEY: z.string().optional(),
    OPENAI_TIMEOUT_MS: envInt(20_000, 100, 300_000),
    ADSEED_BUCKET_STATE: z.string().default('state'),
    ADSEED_SEEDS_PER_SUBJECT: envInt(3, 1, 10),
    /** Subject names at least this similar (sentence-encoder cosine) are merged into one subject. */
    ADSEED_SUBJECT_MERGE_COSINE: z.coerce.number().min(0).max(1).default(0.74),
    /** Under this cosine between a segment and its best subject (and no seed evidence), the segment is a seed gap. */
    ADSEED_SEGMENT_FLOOR: z.coerce.number().min(-1).max(1).default(0.3),
    /** How long subject-catalogue changes may wait before they are written to the object store. */
    ADSEED_CATALOGUE_SAVE_MS: envInt(1000, 0, 600_000),
    /** A conversation holds at most this many messages (user and agent); then it answers 409. */
    ADSEED_CONVERSATION_MAX_MESSAGES: envInt(200, 4, 10_000),
  })
  .superRefine((env, ctx) => {
    // A self-hosted OpenAI-compatible server may need no key; OpenAI's own API always does.
    if (
      env.ADSEED_LLM === 'openai' &&
      !env.OPENAI_API_KEY &&
      typeof env.OPENAI_BASE_URL === 'string' &&
      /^https:\/\/api\.openai\.com\//.test(env.OPENAI_BASE_URL)
    ) {
      ctx.addIssue({ code: 'custom', path: ['OPENAI_API_KEY'], message: 'required with ADSEED_LLM=openai against api.openai.com' });
    }
  }, ALWAYS);
export type AgentEnv = z.infer<typeof AgentEnv>;
