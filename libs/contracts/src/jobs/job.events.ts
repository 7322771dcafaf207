import { z } from 'zod';
import { chars, StoragePath, TenantId } from '../common';
import { defineTopic } from '../topic';
import { AdFormat } from './ad-format';

const JobId = z.string().regex(/^j[0-9a-z]{10}-[0-9a-f]{8}$/, 'must be a job id');
const AdIndex = z.number().int().min(0).max(9999);

/**
 * One ad of a job, to be rendered by any generation replica. Key: `<job id>:<ad index>`, so
 * the ads of one job spread over partitions (replicas share the work) while redeliveries of one
 * ad stay on one partition, in order. The paths are decided by the job's owner.
 */
export const AdRequested = z.object({
  jobId: JobId,
  tenant: TenantId,
  index: AdIndex,
  total: z.number().int().min(1).max(10000),
  format: AdFormat,
  width: z.number().int().min(64).max(4096),
  height: z.number().int().min(64).max(4096),
  /** Variant of this segment (or seed) and format, counted from 1 as the user does. */
  variant: z.number().int().min(1).max(64),
  /** Which look (crop and placement) the generator takes for this seed; unique per seed and format in a job. */
  look: z.number().int().min(0).max(63),
  segment: chars(500).optional(),
  subject: chars(500).optional(),
  seedPath: StoragePath,
  /** Retrieval scores of the seed for the segment, recorded in the provenance. */
  scores: z.object({ score: z.number(), clip: z.number().optional(), caption: z.number().optional(), rank: z.number().int() }).optional(),
  brandPath: StoragePath,
  headline: chars(140).optional(),
  callToAction: chars(40).optional(),
  generator: z.enum(['local', 'replicate']).optional(),
  /** The tenant's brand-kit version when the job was created (absent: the tenant had none). */
  brandKitVersion: z.number().int().min(1).optional(),
  adPath: StoragePath,
  provenancePath: StoragePath,
  requestedAt: z.string(),
});
export type AdRequested = z.infer<typeof AdRequested>;

/** An ad is in the store with its provenance record. Key: the job id (one job's outcomes in order). */
export const AdGenerated = z.object({
  jobId: JobId,
  tenant: TenantId,
  index: AdIndex,
  format: AdFormat,
  width: z.number().int(),
  height: z.number().int(),
  variant: z.number().int(),
  segment: z.string().optional(),
  subject: z.string().optional(),
  seedPath: StoragePath,
  path: StoragePath,
  provenancePath: StoragePath,
  generator: z.string(),
  warnings: z.array(z.string()),
  /** True when the ad was already in the store (a redelivery): it was announced again, not rendered again. */
  /** Product fidelity score (0-1), when measured; the gateway's review policy reads it. */
  fidelity: z.number().min(0).max(1).optional(),
  reused: z.boolean(),
  generatedAt: z.string(),
});
export type AdGenerated = z.infer<typeof AdGenerated>;

/** An ad could not be made (bad input, generator refusal, retries exhausted, job cancelled). Key: the job id. */
export const AdFailed = z.object({
  jobId: JobId,
  tenant: TenantId,
  index: AdIndex,
  format: AdFormat,
  variant: z.number().int(),
  segment: z.string().optional(),
  seedPath: StoragePath.optional(),
  code: z.string().max(64),
  reason: z.string().max(2000),
  failedAt: z.string(),
});
export type AdFailed = z.infer<typeof AdFailed>;

/** A job's state changed (an ad folded in, cancelled, deleted). Key: the job id; SSE fans it out. */
export const JobUpdated = z.object({ jobId: JobId, tenant: TenantId, at: z.string() });
export type JobUpdated = z.infer<typeof JobUpdated>;

export const JobTopics = {
  adRequested: defineTopic('adseed.generation.ad-requested.v1', AdRequested, 12),
  adGenerated: defineTopic('adseed.generation.ad-generated.v1', AdGenerated, 6),
  adFailed: defineTopic('adseed.generation.ad-failed.v1', AdFailed, 6),
  jobUpdated: defineTopic('adseed.job.updated.v1', JobUpdated, 3),
} as const;
