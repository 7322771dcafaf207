import { envInt } from '@adseed/config';
import { GuardrailsEnv } from '@adseed/guardrails';
import { z } from 'zod';

const ApiKeys = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    const map = new Map<string, string>();
    for (const entry of (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
      const [key, tenant] = entry.split(':');
      if (!key || !tenant || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(tenant)) {
        ctx.addIssue({ code: 'custom', message: 'must be a comma list of <key>:<tenant>' });
        return map;
      }
      map.set(key, tenant);
    }
    return map;
  });

export const GatewayEnv = z.object({
  /** `key:tenant` pairs. When set, every /v1 call needs `Authorization: Bearer <key>`. */
  ADSEED_API_KEYS: ApiKeys,
  ADSEED_DEFAULT_TENANT: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/).default('demo'),
  ADSEED_MAX_UPLOAD_BYTES: envInt(20 * 1024 * 1024, 1024, 512 * 1024 * 1024),
  ADSEED_MAX_IMAGE_PIXELS: envInt(40_000_000, 1, 500_000_000),
  ADSEED_MAX_BODY_BYTES: envInt(64 * 1024, 1024, 10 * 1024 * 1024),
  ADSEED_PRESIGN_EXPIRY_SECONDS: envInt(300, 1, 86_400),
  /**
   * Rate limit on /v1 per API key (per tenant without keys), per gateway replica: a token bucket
   * refilled at this many requests per second; 0 turns it off.
   */
  ADSEED_RATE_LIMIT_PER_SECOND: z.coerce.number().min(0).max(1_000_000).default(100),
  /** The bucket's size: requests a caller may make at once before the rate applies. */
  ADSEED_RATE_LIMIT_BURST: envInt(200, 1, 1_000_000),
  /** MinIO notification target for the seeds and brands buckets, e.g. `arn:minio:sqs::ADSEED:kafka`. */
  ADSEED_STORAGE_NOTIFY_ARN: z.string().optional(),
  /** Where flagged uploads are kept: stored, never indexed or served (only with the image guardrail on). */
  ADSEED_BUCKET_QUARANTINE: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,62}$/).default('quarantine'),
  /** The text guardrail: profanity filter, per-tenant deny lists, optional moderation endpoint. */
  ...GuardrailsEnv.shape,
  /** Jobs and ads are removed this many days after they were made. */
  ADSEED_JOB_RETENTION_DAYS: z.coerce.number().positive().max(3650).default(30),
  /** How often the sweeper looks for expired jobs and ads (0: never). */
  ADSEED_JOB_SWEEP_INTERVAL_MS: envInt(3_600_000, 0, 86_400_000),
  /** Where job state lives (shared with the agent's conversations). */
  ADSEED_BUCKET_STATE: z.string().default('state'),
});
export type GatewayEnv = z.infer<typeof GatewayEnv>;
export const GATEWAY_ENV = Symbol('GATEWAY_ENV');
