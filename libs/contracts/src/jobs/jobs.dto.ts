import { z } from 'zod';
import { chars, exactlyOneOf, nonBlank, StoragePath } from '../common';
import { AdReviewMark } from '../governance/governance.dto';
import { AdFormat } from './ad-format';
import { JOB_ID_PATTERN } from './job.storage';

/** Largest number of ads one job may ask for (segments or seeds × formats × variants). */
export const MAX_ADS_PER_JOB = 256;
/** An `Idempotency-Key` header: 1-200 visible ASCII characters. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,200}$/;
/** Most variants of each ad a job may ask for. */
export const MAX_VARIANTS = 8;

const unique = <T>(items: T[]): boolean => new Set(items).size === items.length;
const MAX_SEGMENTS = 32;
const MAX_SEED_PATHS = 64;

/**
 * At most MAX_ADS_PER_JOB ads, i.e. (segments or seedPaths) × formats × variants, in JSON Schema:
 * one rule per number of formats and variants whose limit binds. With at least f formats and v
 * variants, at most ⌊MAX_ADS_PER_JOB / (f·v)⌋ segments or seeds (an absent `variants` is 1; the
 * rules of the actual f and v are the tightest that apply).
 */
function jobSizeRules(): object[] {
  const longest = Math.max(MAX_SEGMENTS, MAX_SEED_PATHS);
  const rules: object[] = [];
  for (let formats = 1; formats <= AdFormat.options.length; formats++) {
    for (let variants = 1; variants <= MAX_VARIANTS; variants++) {
      const most = Math.floor(MAX_ADS_PER_JOB / (formats * variants));
      if (most >= longest) continue;
      rules.push({
        if: { properties: { formats: { minItems: formats }, variants: { minimum: variants } }, ...(variants > 1 ? { required: ['variants'] } : {}) },
        then: { properties: { segments: { maxItems: most }, seedPaths: { maxItems: most } } },
      });
    }
  }
  return rules;
}

export const CreateJobBody = z
  .object({
    brandPath: StoragePath,
    segments: z.array(nonBlank(500)).min(1).max(MAX_SEGMENTS).optional(),
    seedPaths: z.array(StoragePath).min(1).max(MAX_SEED_PATHS).optional(),
    formats: z.array(AdFormat).min(1).max(4).refine(unique, 'must not repeat a format').meta({ uniqueItems: true }),
    variants: z.number().int().min(1).max(MAX_VARIANTS).default(1),
    headline: chars(120).trim().optional(),
    callToAction: chars(40).trim().optional(),
    generator: z.enum(['local', 'replicate']).optional(),
    /**
     * Lowers (or raises) the relevance floor of the segment searches, as in `POST /v1/search`.
     * Audience segments ("cat lovers in small apartments") describe people, not photos, and often
     * score under the calibrated floor against captions.
     */
    minScore: z.number().min(-1).max(1).optional(),
  })
  .refine((b) => Boolean(b.segments) !== Boolean(b.seedPaths), { message: 'give exactly one of segments or seedPaths', path: ['segments'] })
  .refine((b) => (b.segments ?? b.seedPaths ?? []).length * b.formats.length * b.variants <= MAX_ADS_PER_JOB, {
    message: `segments (or seedPaths) × formats × variants must be at most ${MAX_ADS_PER_JOB} ads`,
    path: ['variants'],
  })
  .meta({ ...exactlyOneOf('segments', 'seedPaths'), allOf: jobSizeRules() });
export type CreateJobBody = z.infer<typeof CreateJobBody>;

export const JobStatus = z.enum(['queued', 'running', 'done', 'failed', 'cancelled']);
export type JobStatus = z.infer<typeof JobStatus>;

export const JobAd = z.object({
  id: z.string(),
  index: z.number().int(),
  path: StoragePath,
  url: z.string(),
  format: AdFormat,
  width: z.number().int(),
  height: z.number().int(),
  segment: z.string().optional(),
  subject: z.string().optional(),
  seedPath: StoragePath,
  variant: z.number().int(),
  generator: z.string(),
  provenancePath: StoragePath,
  warnings: z.array(z.string()),
  /** Review state: an ad not approved is served to reviewers only. */
  review: AdReviewMark.optional(),
});
export type JobAd = z.infer<typeof JobAd>;

export const JobFailure = z.object({
  index: z.number().int(),
  format: AdFormat,
  variant: z.number().int(),
  segment: z.string().optional(),
  seedPath: StoragePath.optional(),
  code: z.string(),
  reason: z.string(),
});
export type JobFailure = z.infer<typeof JobFailure>;

export const JobProgress = z.object({ done: z.number().int(), failed: z.number().int(), total: z.number().int() });

export const Job = z.object({
  id: z.string(),
  status: JobStatus,
  progress: JobProgress,
  brandPath: StoragePath,
  segments: z.array(z.string()).optional(),
  seedPaths: z.array(StoragePath).optional(),
  formats: z.array(AdFormat),
  variants: z.number().int(),
  /** The tenant's brand-kit version the job's ads are made with (absent: the tenant had none when the job started). */
  brandKitVersion: z.number().int().optional(),
  ads: z.array(JobAd),
  failures: z.array(JobFailure),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** When the sweeper removes the job and its ads. */
  expiresAt: z.string(),
  cancelledAt: z.string().optional(),
});
export type Job = z.infer<typeof Job>;

export const JobResponse = z.object({ job: Job });
export type JobResponse = z.infer<typeof JobResponse>;

export const ListJobsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  /** The last job of the previous page (its `nextCursor`): any job id is a position. */
  cursor: z
    .string()
    .regex(JOB_ID_PATTERN, 'must be a nextCursor of this listing (a job id)')
    .optional()
    .meta({ description: "the previous page's `nextCursor` (a job id): the listing continues after it" }),
});
export type ListJobsQuery = z.infer<typeof ListJobsQuery>;

export const JobSummary = Job.omit({ ads: true, failures: true });
export type JobSummary = z.infer<typeof JobSummary>;
export const ListJobsResponse = z.object({ items: z.array(JobSummary), nextCursor: z.string().optional() });
export type ListJobsResponse = z.infer<typeof ListJobsResponse>;
