/**
 * Where a creative job's state and ads live in the object store. Shared by the gateway (which
 * owns the job) and the generation service (which renders its ads), so both agree on paths.
 *
 * State bucket:
 *   jobs/<tenant>/<job id>.json              the job's plan, written once when it is created
 *   job-ads/<tenant>/<job id>/<index>.json   one outcome per ad (generated or failed), keyed by index
 *   job-cancels/<tenant>/<job id>.json       present once the job was cancelled
 *   job-keys/<tenant>/<key hash>.json        Idempotency-Key → job id
 * Ads bucket:
 *   <tenant>/jobs/<job id>/<index>-<format>-v<variant>.png  and  …provenance.json beside it
 *
 * Every name derives from the job id and the ad index, so a redelivered event overwrites the
 * same objects instead of making a second ad.
 */
import { adFormatSlug, type AdFormat } from './ad-format';

export const JOB_ID_PATTERN = /^j[0-9a-z]{10}-[0-9a-f]{8}$/;

const pad = (index: number): string => String(index).padStart(4, '0');

export const JobStateKeys = {
  jobPrefix: (tenant: string): string => `jobs/${tenant}/`,
  job: (tenant: string, jobId: string): string => `jobs/${tenant}/${jobId}.json`,
  outcomePrefix: (tenant: string, jobId: string): string => `job-ads/${tenant}/${jobId}/`,
  outcome: (tenant: string, jobId: string, index: number): string => `job-ads/${tenant}/${jobId}/${pad(index)}.json`,
  cancel: (tenant: string, jobId: string): string => `job-cancels/${tenant}/${jobId}.json`,
  idempotencyKey: (tenant: string, keyHash: string): string => `job-keys/${tenant}/${keyHash}.json`,
} as const;

export const JobAdKeys = {
  prefix: (tenant: string, jobId: string): string => `${tenant}/jobs/${jobId}/`,
  image: (tenant: string, jobId: string, index: number, format: AdFormat, variant: number): string =>
    `${tenant}/jobs/${jobId}/${pad(index)}-${adFormatSlug(format)}-v${variant}.png`,
  provenance: (tenant: string, jobId: string, index: number, format: AdFormat, variant: number): string =>
    `${tenant}/jobs/${jobId}/${pad(index)}-${adFormatSlug(format)}-v${variant}.provenance.json`,
} as const;

const ID_TIME_SPAN = 36 ** 10 - 1;

/** Job ids sort newest first (inverted creation time), so a listing by key is a listing by age. */
export function newJobId(now: Date, random: string): string {
  const inverted = (ID_TIME_SPAN - now.getTime()).toString(36).padStart(10, '0');
  return `j${inverted}-${random.slice(0, 8)}`;
}
