import { ALWAYS, CommonEnv, envInt } from '@adseed/config';
import { GuardrailsEnv } from '@adseed/guardrails';
import { createHash } from 'node:crypto';
import { z } from 'zod';

export const ROLES = ['marketer', 'reviewer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Who a key is: its tenant, its role, and the name recorded on its decisions and in the audit log. */
export interface ApiKeyEntry {
  tenant: string;
  role: Role;
  name: string;
}

/**
 * `key:tenant[:role[:name]]`. A key without a role is a marketer (the least privilege: keys set
 * before roles existed keep every route they had, but cannot review or read the audit log).
 * Without a name, a key is recorded as `key-<first 8 hex of its sha256>`, never as the key.
 */
const ApiKeys = z
  .string()
  .optional()
  .transform((raw, ctx) => {
    const map = new Map<string, ApiKeyEntry>();
    for (const entry of (raw ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const [key, tenant, role = 'marketer', name] = entry.split(':');
      if (
        !key ||
        !tenant ||
        !/^[a-z0-9][a-z0-9-]{0,62}$/.test(tenant) ||
        !(ROLES as readonly string[]).includes(role) ||
        (name !== undefined && !/^[\w.@-]{1,64}$/.test(name))
      ) {
        ctx.addIssue({ code: 'custom', message: `must be a comma list of <key>:<tenant>[:<role>[:<name>]], role one of ${ROLES.join('|')}` });
        return map;
      }
      map.set(key, { tenant, role: role as Role, name: name ?? `key-${createHash('sha256').update(key).digest('hex').slice(0, 8)}` });
    }
    return map;
  });

export const GatewayEnv = z
  .object({
    /** `key:tenant[:role[:name]]` entries. When set, every /v1 call needs `Authorization: Bearer <key>`. */
    ADSEED_API_KEYS: ApiKeys,
    /**
     * Signs the web UI's session cookies (at least 32 characters). Unset: derived from
     * ADSEED_API_KEYS, so replicas with the same keys agree and changing the keys ends every session.
     */
    ADSEED_SESSION_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    /** How long a web UI session cookie lasts. */
    ADSEED_SESSION_TTL_SECONDS: envInt(8 * 3600, 60, 7 * 86_400),
    ADSEED_DEFAULT_TENANT: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/)
      .default('demo'),
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
    /** Read here too: bucket notifications need MinIO. */
    ADSEED_STORE: CommonEnv.shape.ADSEED_STORE,
    /** Where flagged uploads are kept: stored, never indexed or served (only with the image guardrail on). */
    ADSEED_BUCKET_QUARANTINE: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,62}$/)
      .default('quarantine'),
    /** The text guardrail: profanity filter, per-tenant deny lists, optional moderation endpoint. */
    ...GuardrailsEnv.shape,
    /** Jobs and ads are removed this many days after they were made. */
    ADSEED_JOB_RETENTION_DAYS: z.coerce.number().positive().max(3650).default(30),
    /** How often the sweeper looks for expired jobs and ads (0: never). */
    ADSEED_JOB_SWEEP_INTERVAL_MS: envInt(3_600_000, 0, 86_400_000),
    /**
     * How long `POST /v1/ads` and a conversation's "yes" wait for the ad (generation is an event,
     * not a query): past it, `POST /v1/ads` answers 202 with the ad's future path in `Location`, and a
     * conversation answers in `generating` (its update arrives over the events stream).
     */
    ADSEED_AD_WAIT_MS: envInt(60_000, 0, 600_000),
    /** Where job state lives (shared with the agent's conversations). */
    ADSEED_BUCKET_STATE: z.string().default('state'),
    /** Review policy per tenant: JSON `{"<tenant>": "auto-approve" | "always-review", "*": …}`. */
    ADSEED_REVIEW_POLICY: z
      .string()
      .optional()
      .transform((raw, ctx) => {
        if (!raw) return {};
        try {
          return z.record(z.string(), z.enum(['auto-approve', 'always-review'])).parse(JSON.parse(raw));
        } catch {
          ctx.addIssue({ code: 'custom', message: 'must be JSON {"<tenant or *>": "auto-approve" | "always-review"}' });
          return {};
        }
      }),
    /** Product fidelity under this score needs a person even with `auto-approve`. */
    ADSEED_FIDELITY_THRESHOLD: z.coerce.number().min(0).max(1).default(0.8),
  })
  .superRefine((env, ctx) => {
    if (env.ADSEED_STORAGE_NOTIFY_ARN && env.ADSEED_STORE !== 'minio') {
      ctx.addIssue({ code: 'custom', path: ['ADSEED_STORAGE_NOTIFY_ARN'], message: 'bucket notifications need ADSEED_STORE=minio' });
    }
  }, ALWAYS);
export type ReviewPolicy = 'auto-approve' | 'always-review';
export type GatewayEnv = z.infer<typeof GatewayEnv>;
/** The state bucket's name (`ADSEED_BUCKET_STATE`): jobs, reviews, the audit log, brand kits. */
export const STATE_BUCKET = Symbol('STATE_BUCKET');
