import { createHash, randomBytes } from 'node:crypto';
import {
  assetContentUrl,
  JOB_ID_PATTERN,
  JobAdKeys,
  JobTopics,
  newJobId,
  Queries,
  splitStoragePath,
  type AdFailed,
  type AdGenerated,
  type CreateJobBody,
  type Job,
  type JobAd,
  type JobFailure,
  type JobStatus,
  type JobSummary,
  type ListJobsQuery,
  type ListJobsResponse,
} from '@adseed/contracts';
import { SERVICE_CONFIG, QUERY_CLIENT, type QueryClient, BUCKETS, LOGGER, CLOCK, type Clock } from '@adseed/platform';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { OBJECT_STORE, type ObjectStore } from '@adseed/storage';
import { EVENT_BUS, type EventBus } from '@adseed/messaging';
import type { Buckets } from '@adseed/config';
import type { Logger } from '@adseed/telemetry';
import type { GatewayEnv } from './gateway.env';
import { ApiError } from './http-errors';
import { planJob, type PlanUnit } from './job-plan';
import { JobsRepository, type StoredJob, type StoredOutcome } from './jobs.repository';
import { ReviewService } from './review.service';
import { hasRole, type Principal } from './roles';
import { BrandKitService } from './brand-kit.service';

const DAY_MS = 86_400_000;
/** Seeds fetched per segment: enough for every variant to have its own, and some to spare. */
const candidatesFor = (variants: number): number => Math.min(50, Math.max(8, variants * 2));
/** Publishing a 256-ad plan this many at a time keeps Kafka's acknowledgements overlapped. */
const PUBLISH_CONCURRENCY = 32;

/**
 * Creative jobs: plans a job (segments → seeds by search), publishes one event per ad, folds
 * the generation service's outcomes into the job's state, and answers for it. State lives in
 * the object store, so any replica can serve any job and a restart resumes unfinished ones.
 */
@Injectable()
export class JobsService {
  private readonly idempotencyLocks = new Map<string, Promise<unknown>>();

  constructor(
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(QUERY_CLIENT) private readonly queries: QueryClient,
    @Inject(BUCKETS) private readonly buckets: Buckets,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SERVICE_CONFIG) private readonly env: GatewayEnv,
    private readonly repository: JobsRepository,
    @Inject(CLOCK) private readonly now: Clock,
    @Optional() private readonly reviews?: ReviewService,
    @Optional() private readonly brandKits?: BrandKitService,
  ) {}

  /** Returns the job and whether this call created it (false: an Idempotency-Key replay). */
  async create(tenant: string, body: CreateJobBody, idempotencyKey?: string): Promise<{ job: Job; created: boolean }> {
    if (idempotencyKey === undefined) return { job: await this.plan(tenant, body), created: true };
    const keyHash = createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 40);
    // Two concurrent retries on one replica wait for each other; across replicas see README.
    const lock = `${tenant}/${keyHash}`;
    const previous = this.idempotencyLocks.get(lock) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(() => this.createOnce(tenant, body, keyHash));
    this.idempotencyLocks.set(lock, run);
    try {
      return await run;
    } finally {
      if (this.idempotencyLocks.get(lock) === run) this.idempotencyLocks.delete(lock);
    }
  }

  /** The job as `viewer` may see it: to a marketer, an ad the image guardrail flagged is a failure (`withheld`), not an ad. */
  async get(tenant: string, id: string, viewer?: Principal): Promise<Job> {
    return this.view(await this.stored(tenant, id), true, viewer);
  }

  async list(tenant: string, query: ListJobsQuery): Promise<ListJobsResponse> {
    if (query.cursor !== undefined && !JOB_ID_PATTERN.test(query.cursor)) {
      throw new ApiError(400, 'validation_failed', 'cursor is not one this listing gave out', [{ field: 'query.cursor', reason: 'invalid' }]);
    }
    const page = await this.repository.list(tenant, query.limit, query.cursor);
    const items: JobSummary[] = await Promise.all(
      page.jobs.map(async (stored) => {
        const { ads: _ads, failures: _failures, ...summary } = await this.view(stored, false);
        return summary;
      }),
    );
    return { items, ...(page.nextId ? { nextCursor: page.nextId } : {}) };
  }

  /** Ads not yet made are not made; a finished job is returned unchanged. */
  async cancel(tenant: string, id: string): Promise<Job> {
    const stored = await this.stored(tenant, id);
    const current = await this.view(stored);
    if (current.status === 'done' || current.status === 'failed' || current.status === 'cancelled') return current;
    await this.repository.markCancelled(tenant, id, this.now());
    await this.announce(tenant, id);
    return this.view(stored);
  }

  /** Removes the job and its ads now. In-flight ads see the tombstone and are not written. */
  async remove(tenant: string, id: string): Promise<void> {
    const stored = await this.stored(tenant, id);
    await this.repository.markCancelled(tenant, id, this.now());
    await this.removeAds(stored);
    await this.repository.remove(stored);
    await this.announce(tenant, id);
  }

  async removeAds(job: StoredJob): Promise<void> {
    const bucket = this.buckets.ad;
    for (;;) {
      const page = await this.store.list(bucket, JobAdKeys.prefix(job.tenant, job.id), { limit: 500 });
      await Promise.all(page.items.map((i) => this.store.delete(bucket, i.key)));
      if (!page.nextStartAfter) return;
    }
  }

  /** Folds an outcome in. Idempotent: keyed by ad index, and a made ad is never un-made by a late failure. */
  async record(outcome: StoredOutcome): Promise<void> {
    const { tenant, jobId, index } = outcome.event;
    const job = await this.repository.get(tenant, jobId);
    if (!job || index >= job.ads.length) return; // deleted (or never ours): nothing to fold into
    if (outcome.kind === 'failed') {
      const existing = await this.repository.outcome(tenant, jobId, index);
      if (existing?.kind === 'generated') return;
    }
    // Registered for review before the ad shows in the job, so it is never served unreviewed.
    if (outcome.kind === 'generated') await this.reviews?.ensure(tenant, outcome.event.path, 'job', { jobId });
    await this.repository.saveOutcome(outcome);
    await this.announce(tenant, jobId);
  }

  recordGenerated(event: AdGenerated): Promise<void> {
    return this.record({ kind: 'generated', event });
  }

  recordFailed(event: AdFailed): Promise<void> {
    return this.record({ kind: 'failed', event });
  }

  /**
   * After a restart, publishes again every ad of an unfinished job that has no outcome yet. Ads
   * already made are announced again from their provenance (not rendered again) by the
   * generation service, so nothing is lost and nothing is made twice.
   */
  async resume(): Promise<{ jobs: number; ads: number }> {
    let jobs = 0;
    let ads = 0;
    for await (const job of this.repository.all()) {
      if (await this.repository.cancelledAt(job.tenant, job.id)) continue;
      const { outcomes } = await this.repository.outcomes(job.tenant, job.id);
      const pending = job.ads.filter((ad) => !outcomes.has(ad.index));
      if (pending.length === 0) continue;
      jobs++;
      ads += pending.length;
      await this.publishAds(pending);
    }
    return { jobs, ads };
  }

  /** The job as the API shows it: plan + outcomes + cancel marker. */
  async view(stored: StoredJob, withReviews = true, viewer?: Principal): Promise<Job> {
    const [{ outcomes, updatedAt }, cancelledAt] = await Promise.all([
      this.repository.outcomes(stored.tenant, stored.id),
      this.repository.cancelledAt(stored.tenant, stored.id),
    ]);
    const ads: JobAd[] = [];
    const failures: JobFailure[] = [];
    for (const planned of stored.ads) {
      const outcome = outcomes.get(planned.index);
      if (outcome?.kind === 'generated') {
        const e = outcome.event;
        ads.push({
          id: `${stored.id}-${planned.index}`,
          index: planned.index,
          path: e.path,
          url: assetContentUrl(e.path),
          format: e.format,
          width: e.width,
          height: e.height,
          ...(e.segment ? { segment: e.segment } : {}),
          ...(e.subject ? { subject: e.subject } : {}),
          seedPath: e.seedPath,
          variant: e.variant,
          generator: e.generator,
          provenancePath: e.provenancePath,
          warnings: e.warnings,
        });
      } else if (outcome?.kind === 'failed') {
        const e = outcome.event;
        failures.push({
          index: e.index,
          format: e.format,
          variant: e.variant,
          ...(e.segment ? { segment: e.segment } : {}),
          ...(e.seedPath ? { seedPath: e.seedPath } : {}),
          code: e.code,
          reason: e.reason,
        });
      }
    }
    if (withReviews && this.reviews) {
      const reviews = this.reviews;
      const marks = await Promise.all(ads.map((ad) => reviews.mark(stored.tenant, ad.path, 'job', { jobId: stored.id })));
      marks.forEach((review, i) => {
        if (review) ads[i] = { ...ads[i], review };
      });
    }
    const total = stored.ads.length;
    const finished = ads.length + failures.length;
    const status: JobStatus =
      cancelledAt && finished < total ? 'cancelled' : finished === total ? (ads.length === 0 ? 'failed' : 'done') : finished > 0 ? 'running' : 'queued';
    if (viewer && !hasRole(viewer, 'reviewer')) {
      for (const ad of ads.filter((a) => a.review?.status === 'flagged')) {
        ads.splice(ads.indexOf(ad), 1);
        failures.push({
          index: ad.index,
          format: ad.format,
          variant: ad.variant,
          ...(ad.segment ? { segment: ad.segment } : {}),
          seedPath: ad.seedPath,
          code: 'withheld',
          reason: `the image guardrail flagged this ad (${ad.review?.flags?.join(', ') ?? 'unsafe'}); a reviewer must approve it before it is shown`,
        });
      }
      failures.sort((a, b) => a.index - b.index);
    }
    const times = [new Date(stored.createdAt), ...(updatedAt ? [updatedAt] : []), ...(cancelledAt ? [cancelledAt] : [])];
    const { request } = stored;
    return {
      id: stored.id,
      status,
      progress: { done: ads.length, failed: failures.length, total },
      brandPath: request.brandPath,
      ...(request.segments ? { segments: request.segments } : {}),
      ...(request.seedPaths ? { seedPaths: request.seedPaths } : {}),
      formats: request.formats,
      variants: request.variants,
      ...(request.brandKitVersion !== undefined ? { brandKitVersion: request.brandKitVersion } : {}),
      ads,
      failures,
      createdAt: stored.createdAt,
      updatedAt: new Date(Math.max(...times.map((t) => t.getTime()))).toISOString(),
      expiresAt: stored.expiresAt,
      ...(cancelledAt && status === 'cancelled' ? { cancelledAt: cancelledAt.toISOString() } : {}),
    };
  }

  isTerminal(job: Job): boolean {
    return job.status === 'done' || job.status === 'failed' || job.status === 'cancelled';
  }

  private async createOnce(tenant: string, body: CreateJobBody, keyHash: string): Promise<{ job: Job; created: boolean }> {
    const requestHash = hashRequest(body);
    const record = await this.repository.idempotencyRecord(tenant, keyHash);
    const existing = record ? await this.repository.get(tenant, record.jobId) : undefined;
    if (record && existing) {
      if (record.requestHash !== requestHash) {
        throw new ApiError(409, 'idempotency_key_reused', 'this Idempotency-Key was used for a different request; use a new key for a new job', [
          { field: 'idempotency-key', reason: `already used for job ${record.jobId}` },
        ]);
      }
      return { job: await this.view(existing), created: false };
    }
    return { job: await this.plan(tenant, body, keyHash), created: true };
  }

  private async plan(tenant: string, body: CreateJobBody, keyHash?: string): Promise<Job> {
    const now = this.now();
    await this.requireOwned(tenant, body.brandPath, 'brandPath', 'brand image');
    const units = body.seedPaths
      ? await this.seedUnits(tenant, body.seedPaths)
      : await this.segmentUnits(tenant, body.segments ?? [], candidatesFor(body.variants), body.minScore);
    const id = newJobId(now, randomBytes(4).toString('hex'));
    // Pinned: a kit changed while the job runs does not mix two looks in one campaign.
    const brandKitVersion = await this.brandKits?.currentVersion(tenant);
    const stored: StoredJob = {
      id,
      tenant,
      request: {
        brandPath: body.brandPath,
        ...(body.segments ? { segments: body.segments } : {}),
        ...(body.seedPaths ? { seedPaths: body.seedPaths } : {}),
        formats: body.formats,
        variants: body.variants,
        ...(body.headline ? { headline: body.headline } : {}),
        ...(body.callToAction ? { callToAction: body.callToAction } : {}),
        ...(body.generator ? { generator: body.generator } : {}),
        ...(body.minScore !== undefined ? { minScore: body.minScore } : {}),
        ...(brandKitVersion !== undefined ? { brandKitVersion } : {}),
      },
      requestHash: hashRequest(body),
      ...(keyHash ? { idempotencyKeyHash: keyHash } : {}),
      ads: planJob({
        jobId: id,
        tenant,
        brandPath: body.brandPath,
        formats: body.formats,
        variants: body.variants,
        ...(body.headline ? { headline: body.headline } : {}),
        ...(body.callToAction ? { callToAction: body.callToAction } : {}),
        ...(body.generator ? { generator: body.generator } : {}),
        ...(brandKitVersion !== undefined ? { brandKitVersion } : {}),
        units,
        paths: (index, format, variant) => ({
          adPath: `${this.buckets.ad}/${JobAdKeys.image(tenant, id, index, format, variant)}`,
          provenancePath: `${this.buckets.ad}/${JobAdKeys.provenance(tenant, id, index, format, variant)}`,
        }),
        requestedAt: now.toISOString(),
      }),
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.env.ADSEED_JOB_RETENTION_DAYS * DAY_MS).toISOString(),
    };
    // Plan first, then the key record, then the events: a crash in between is resumed on start.
    await this.repository.save(stored);
    if (keyHash) await this.repository.saveIdempotencyRecord(tenant, keyHash, { jobId: id, requestHash: stored.requestHash });
    await this.publishAds(stored.ads);
    await this.announce(tenant, id);
    this.logger.info('job created', { jobId: id, tenant, ads: stored.ads.length });
    return this.view(stored);
  }

  private async segmentUnits(tenant: string, segments: string[], k: number, minScore: number | undefined): Promise<PlanUnit[]> {
    const search = (text: string, limit: number, floor: number | undefined) =>
      this.queries.call(Queries.search, {
        tenant,
        text,
        k: limit,
        kind: 'seed',
        encoders: ['clip', 'caption'],
        ...(floor !== undefined ? { minScore: floor } : {}),
      });
    return Promise.all(
      segments.map(async (segment, i) => {
        const reply = await search(segment, k, minScore);
        if (reply.hits.length === 0) {
          // Say how far off the best seed was, so the caller can choose: better photos, other words, or minScore.
          const best = (await search(segment, 1, -1)).hits[0];
          const detail = best
            ? `the best seed's cosine is caption ${best.scores.caption?.toFixed(2) ?? '–'}, CLIP ${best.scores.clip?.toFixed(2) ?? '–'}; the floor is caption ${reply.floor.caption?.toFixed(2) ?? '–'}, CLIP ${reply.floor.clip?.toFixed(2) ?? '–'}. Describe what the photos show, upload matching photos, or lower minScore`
            : 'the seed library is empty: upload seed photos first';
          throw new ApiError(404, 'no_seeds', `no seed clears the relevance floor for "${segment.slice(0, 80)}": ${detail}`, [
            { field: `segments.${i}`, reason: 'no matching seed' },
          ]);
        }
        return {
          segment,
          candidates: reply.hits.map((h) => ({
            path: h.path,
            ...(h.caption ? { caption: h.caption } : {}),
            score: h.score,
            ...(h.scores.clip !== undefined ? { clip: h.scores.clip } : {}),
            ...(h.scores.caption !== undefined ? { caption_score: h.scores.caption } : {}),
            rank: h.rank,
          })),
        };
      }),
    );
  }

  private async seedUnits(tenant: string, seedPaths: string[]): Promise<PlanUnit[]> {
    return Promise.all(
      seedPaths.map(async (path, i) => {
        const info = await this.requireOwned(tenant, path, `seedPaths.${i}`, 'seed image');
        return { candidates: [{ path, ...(info.metadata.caption ? { caption: info.metadata.caption } : {}), rank: 0 }] };
      }),
    );
  }

  private async requireOwned(tenant: string, path: string, field: string, what: string) {
    const { bucket, key } = splitStoragePath(path);
    const known = Object.values(this.buckets).includes(bucket) && key.startsWith(`${tenant}/`);
    const info = known ? await this.store.stat(bucket, key) : undefined;
    if (!info) throw new ApiError(404, 'not_found', `no ${what} at ${path}`, [{ field, reason: 'not found for this tenant' }]);
    return info;
  }

  private async stored(tenant: string, id: string): Promise<StoredJob> {
    const job = JOB_ID_PATTERN.test(id) ? await this.repository.get(tenant, id) : undefined;
    if (!job) throw new ApiError(404, 'not_found', `no job ${id.slice(0, 64)}`, [{ field: 'id', reason: 'unknown job' }]);
    return job;
  }

  private async publishAds(ads: StoredJob['ads']): Promise<void> {
    for (let i = 0; i < ads.length; i += PUBLISH_CONCURRENCY) {
      await Promise.all(
        ads.slice(i, i + PUBLISH_CONCURRENCY).map((ad) => this.bus.publish(JobTopics.adRequested, { key: `${ad.jobId}:${ad.index}`, value: ad })),
      );
    }
  }

  private async announce(tenant: string, jobId: string): Promise<void> {
    await this.bus.publish(JobTopics.jobUpdated, { key: jobId, value: { jobId, tenant, at: this.now().toISOString() } });
  }
}

/** The request's identity for Idempotency-Key checks: its fields in a fixed order. */
function hashRequest(body: CreateJobBody): string {
  const canonical = JSON.stringify([
    body.brandPath,
    body.segments ?? null,
    body.seedPaths ?? null,
    body.formats,
    body.variants,
    body.headline ?? null,
    body.callToAction ?? null,
    body.generator ?? null,
    body.minScore ?? null,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}
