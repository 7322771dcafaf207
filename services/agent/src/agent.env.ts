import { envInt } from '@adseed/config';
import { z } from 'zod';

export const AgentEnv = z.object({
  ADSEED_LLM: z.enum(['catalogue', 'openai']).default('catalogue'),
  OPENAI_BASE_URL: z.string().url().default('https://api.openai.com/v1'),
  OPENAI_MODEL: z.string().default('gpt-4o-mini'),
  OPENAI_API_KEY: z.string().optional(),
  OPENAI_TIMEOUT_MS: envInt(20_000, 100, 300_000),
  ADSEED_BUCKET_STATE: z.string().default('state'),
  ADSEED_SEEDS_PER_SUBJECT: envInt(3, 1, 10),
  /** A conversation holds at most this many messages (user and agent); then it answers 409. */
  ADSEED_CONVERSATION_MAX_MESSAGES: envInt(200, 4, 10_000),
});
export type AgentEnv = z.infer<typeof AgentEnv>;
