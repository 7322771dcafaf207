import { z } from 'zod';
import { chars, nonBlank, StoragePath } from '../common';
import { AdFormat } from '../jobs/ad-format';
import { StoreCursor } from '../paging';

// ---- Review -------------------------------------------------------------------------------

/** `flagged`: the image guardrail flagged the ad; like `pending` it waits for a reviewer, and it is never listed to marketers. */
export const ReviewStatus = z.enum(['pending', 'flagged', 'approved', 'rejected']);
export type ReviewStatus = z.infer<typeof ReviewStatus>;

/** Where an ad came from. */
export const AdSource = z.enum(['job', 'conversation', 'direct', 'experiment']);
export type AdSource = z.infer<typeof AdSource>;

/** What the image guardrail said about a generated ad. */
export const AdModeration = z.object({
  model: z.string(),
  flagged: z.boolean(),
  /** The classes whose score reached their threshold, e.g. `["porn"]`. */
  reasons: z.array(z.string()),
  scores: z.record(z.string(), z.number()),
});
export type AdModeration = z.infer<typeof AdModeration>;

/** An ad's review state. `decidedBy` is the deciding key's name, or `policy` for an auto-approval. */
export const AdReview = z.object({
  adId: z.string(),
  path: StoragePath,
  url: z.string(),
  source: AdSource,
  jobId: z.string().optional(),
  conversationId: z.string().optional(),
  status: ReviewStatus,
  /** Product fidelity (0-1) when measured. */
  fidelity: z.number().optional(),
  /** Why a person must look (policy, fidelity under the threshold, not measured, the image guardrail). */
  needsReviewBecause: z.array(z.string()),
  /** The image guardrail's verdict on the ad, when it ran: the classes that reached their threshold and every score. */
  moderation: AdModeration.optional(),
  createdAt: z.string(),
  decidedBy: z.string().optional(),
  decidedAt: z.string().optional(),
  reason: z.string().optional(),
});
export type AdReview = z.infer<typeof AdReview>;

/** What a job or conversation response shows of an ad's review. */
export const AdReviewMark = z.object({
  adId: z.string(),
  status: ReviewStatus,
  fidelity: z.number().optional(),
  /** The image guardrail's categories when it flagged the ad (status `flagged`). */
  flags: z.array(z.string()).optional(),
});
export type AdReviewMark = z.infer<typeof AdReviewMark>;

export const ListReviewsQuery = z.object({
  status: ReviewStatus.default('pending'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: StoreCursor.optional(),
});
export type ListReviewsQuery = z.infer<typeof ListReviewsQuery>;
export const ListReviewsResponse = z.object({ items: z.array(AdReview), nextCursor: z.string().optional() });
export type ListReviewsResponse = z.infer<typeof ListReviewsResponse>;

export const ReviewDecisionBody = z
  .object({
    decision: z.enum(['approve', 'reject']),
    reason: nonBlank(500).optional(),
  })
  .refine((b) => b.decision === 'approve' || b.reason !== undefined, { message: 'a rejection needs a reason', path: ['reason'] })
  .meta({ anyOf: [{ properties: { decision: { const: 'approve' } } }, { required: ['reason'] }] });
export type ReviewDecisionBody = z.infer<typeof ReviewDecisionBody>;
export const ReviewResponse = z.object({ review: AdReview });

// ---- Session (web UI sign-in) --------------------------------------------------------------

/** Who the caller is; `expiresAt` when a session cookie was set (or is what signed the call). */
export const SessionInfo = z.object({
  tenant: z.string(),
  role: z.enum(['marketer', 'reviewer', 'admin']),
  /** The key's name (`local` without keys). */
  actor: z.string(),
  /** `key` (Authorization: Bearer), `session` (the cookie), or `none` (no keys configured). */
  via: z.enum(['key', 'session', 'none']),
  expiresAt: z.string().optional(),
});
export type SessionInfo = z.infer<typeof SessionInfo>;
export const SessionResponse = z.object({ session: SessionInfo });

// ---- Audit --------------------------------------------------------------------------------

/** One line of the append-only audit log. */
export const AuditEntry = z.object({
  id: z.string(),
  at: z.string(),
  tenant: z.string(),
  /** The key's name (`local` without keys). */
  actor: z.string(),
  role: z.enum(['marketer', 'reviewer', 'admin']),
  /** e.g. `asset.uploaded`, `asset.deleted`, `review.decided`, `key.used`, `request` */
  action: z.string(),
  method: z.string().optional(),
  route: z.string().optional(),
  status: z.number().int().optional(),
  target: z.string().optional(),
  details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

export const ListAuditQuery = z.object({
  /** One UTC day, `YYYY-MM-DD`; all days when absent. */
  day: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD')
    .optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: StoreCursor.optional(),
});
export type ListAuditQuery = z.infer<typeof ListAuditQuery>;
export const ListAuditResponse = z.object({ items: z.array(AuditEntry), nextCursor: z.string().optional() });

// ---- Blind A/B ----------------------------------------------------------------------------

export const ExperimentConfiguration = z.object({
  name: nonBlank(60),
  generator: z.enum(['local', 'replicate']).default('local'),
  /** Informational for `local`; the Replicate model is the deployment's (`REPLICATE_MODEL`). */
  model: chars(200).optional(),
  /** Prompt-based generators: `{subject}` and `{segment}` are filled in. */
  promptTemplate: nonBlank(1000).optional(),
  /** Where the local generator puts the pack: a corner, or `auto` (the least salient). */
  placement: z.enum(['auto', 'bottom-left', 'bottom-right', 'top-left', 'top-right']).default('auto'),
  /** Pack size relative to the default (local generator). */
  packScale: z.number().min(0.5).max(1.5).default(1),
});
export type ExperimentConfiguration = z.infer<typeof ExperimentConfiguration>;

export const CreateExperimentBody = z.object({
  name: nonBlank(120),
  brandPath: StoragePath,
  seedPaths: z.array(StoragePath).min(1).max(32),
  configurations: z
    .array(ExperimentConfiguration)
    .min(2)
    .max(6)
    .refine((c) => new Set(c.map((x) => x.name)).size === c.length, 'configuration names must differ'),
  segment: nonBlank(500).optional(),
  headline: chars(120).trim().optional(),
  callToAction: chars(40).trim().optional(),
  format: AdFormat.default('1:1'),
});
export type CreateExperimentBody = z.infer<typeof CreateExperimentBody>;

export const WilsonInterval = z.object({ low: z.number(), high: z.number() });

export const ConfigurationResult = z.object({
  configuration: z.string(),
  /** Pairs this configuration was shown in and a vote was cast. */
  comparisons: z.number().int(),
  wins: z.number().int(),
  losses: z.number().int(),
  bothBad: z.number().int(),
  /** wins / comparisons (both-bad counts as a comparison it did not win). */
  winRate: z.number().nullable(),
  /** 95 % Wilson score interval of the win rate. */
  winRate95: WilsonInterval.nullable(),
  /** Bradley–Terry strength (strengths sum to 1; both-bad votes are left out), and its rank (1 = best). */
  strength: z.number().nullable(),
  rank: z.number().int().nullable(),
});
export type ConfigurationResult = z.infer<typeof ConfigurationResult>;

export const Experiment = z.object({
  id: z.string(),
  name: z.string(),
  status: z.enum(['generating', 'ready', 'failed']),
  brandPath: StoragePath,
  seedPaths: z.array(StoragePath),
  configurations: z.array(ExperimentConfiguration),
  ads: z.object({ made: z.number().int(), failed: z.number().int(), total: z.number().int() }),
  /** Why ads of a configuration could not be made (e.g. its generator is not configured here). */
  failures: z.array(z.object({ configuration: z.string(), seedPath: StoragePath, code: z.string(), reason: z.string() })),
  votes: z.number().int(),
  results: z.array(ConfigurationResult),
  createdAt: z.string(),
});
export type Experiment = z.infer<typeof Experiment>;
export const ExperimentResponse = z.object({ experiment: Experiment });

/** Two ads from the same seed and brand, sides randomised; which configuration made which is not said. */
export const ExperimentPair = z.object({
  pairId: z.string(),
  seedPath: StoragePath,
  brandPath: StoragePath,
  left: z.object({ url: z.string() }),
  right: z.object({ url: z.string() }),
});
export const NextPairResponse = z.object({ pair: ExperimentPair.nullable() });

export const VoteBody = z.object({ pairId: chars(100).min(1), choice: z.enum(['left', 'right', 'both-bad']) });
export type VoteBody = z.infer<typeof VoteBody>;
