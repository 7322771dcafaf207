import {
  AdReview,
  assetContentUrl,
  assetIdFor,
  splitStoragePath,
  storeCursor,
  type AdModeration,
  type AdReviewMark,
  type AdSource,
  type ListReviewsQuery,
  type ListReviewsResponse,
  type ReviewDecisionBody,
} from '@adseed/contracts';
import { IMAGE_GUARDRAIL, ImageModerationUnavailableError, type ImageGuardrail } from '@adseed/guardrails';
import { SERVICE_CONFIG, BUCKETS, LOGGER } from '@adseed/platform';
import { ObjectNotFoundError, type ObjectInfo, OBJECT_STORE, type ObjectStore } from '@adseed/storage';
import { Inject, Injectable, Optional } from '@nestjs/common';
import type { Buckets } from '@adseed/config';
import type { Logger } from '@adseed/telemetry';
import { AuditLog } from './audit.log';
import { type GatewayEnv, type ReviewPolicy } from './gateway.env';
import { ApiError } from './http-errors';
import { hasRole, type Principal } from './roles';

const POLICY: Principal = { tenant: '', role: 'admin', actor: 'policy' };
const GUARDRAIL: Principal = { tenant: '', role: 'admin', actor: 'image-guardrail' };

/**
 * Every ad's review state, in the state bucket: `reviews/<tenant>/ads/<adId>.json`, plus an
 * empty marker `reviews/<tenant>/pending/<adId>` while it waits for a person (the queue is a
 * listing of markers). An ad is registered when the gateway first sees it (a job outcome, a
 * conversation or `POST /v1/ads` answer, or a request for its bytes); the tenant's policy then
 * approves it at once (`auto-approve`: product fidelity at or above the threshold, and the image
 * guardrail, when on, passed it) or leaves it pending. With the image guardrail on, every ad is
 * classified when it is registered, before anyone can fetch it: an ad it flags is `flagged`, waits
 * in the same queue, and is shown to reviewers only. The ad id is `assetIdFor(path)`.
 */
@Injectable()
export class ReviewService {
  /** Registrations in flight, so two first sightings of one ad classify it once. */
  private readonly registering = new Map<string, Promise<AdReview | undefined>>();

  constructor(
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(BUCKETS) private readonly buckets: Buckets,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SERVICE_CONFIG) private readonly env: GatewayEnv,
    private readonly audit: AuditLog,
    @Optional() @Inject(IMAGE_GUARDRAIL) private readonly imageGuardrail: ImageGuardrail | null = null,
  ) {}

  private get bucket(): string {
    return this.env.ADSEED_BUCKET_STATE;
  }

  policyOf(tenant: string): ReviewPolicy {
    return this.env.ADSEED_REVIEW_POLICY[tenant] ?? this.env.ADSEED_REVIEW_POLICY['*'] ?? 'auto-approve';
  }

  /** The ad's review, registering it under the tenant's policy if it has none; undefined when there is no such ad. */
  async ensure(tenant: string, path: string, source: AdSource, refs: { jobId?: string; conversationId?: string } = {}): Promise<AdReview | undefined> {
    const adId = assetIdFor(path);
    const inFlight = `${tenant}/${adId}`;
    const running = this.registering.get(inFlight);
    if (running) return running;
    const registering = (async () => {
      const existing = await this.get(tenant, adId);
      if (existing) return existing;
      const { bucket, key } = splitStoragePath(path);
      if (bucket !== this.buckets.ad || !key.startsWith(`${tenant}/`) || key.endsWith('.json')) return undefined;
      return this.register(tenant, adId, path, source, refs);
    })().finally(() => this.registering.delete(inFlight));
    this.registering.set(inFlight, registering);
    return registering;
  }

  private async register(
    tenant: string,
    adId: string,
    path: string,
    source: AdSource,
    refs: { jobId?: string; conversationId?: string },
  ): Promise<AdReview | undefined> {
    const { bucket, key } = splitStoragePath(path);
    const info = await this.store.stat(bucket, key);
    if (!info) return undefined;
    const raw = info.metadata.fidelity;
    const fidelity = raw !== undefined && Number.isFinite(Number(raw)) ? Number(raw) : undefined;
    const threshold = this.env.ADSEED_FIDELITY_THRESHOLD;
    const because: string[] = [];
    const moderation = await this.moderate(tenant, adId, info, because);
    if (this.policyOf(tenant) === 'always-review') because.push('tenant policy: always-review');
    if (fidelity === undefined) because.push('product fidelity was not measured');
    else if (fidelity < threshold) because.push(`product fidelity ${fidelity} is under ${threshold}`);
    const status = moderation?.flagged ? 'flagged' : because.length ? 'pending' : 'approved';
    const now = new Date().toISOString();
    const review = AdReview.parse({
      adId,
      path,
      url: assetContentUrl(path),
      source,
      ...refs,
      status,
      ...(fidelity !== undefined ? { fidelity } : {}),
      needsReviewBecause: because,
      ...(moderation ? { moderation } : {}),
      createdAt: now,
      ...(status === 'approved' ? { decidedBy: 'policy', decidedAt: now } : {}),
    });
    await this.save(tenant, review);
    if (status !== 'approved')
      await this.store.put(this.bucket, this.pendingKey(tenant, adId), Buffer.alloc(0), { contentType: 'application/octet-stream', metadata: { tenant } });
    if (status === 'flagged') {
      await this.audit.record(
        { ...GUARDRAIL, tenant },
        { action: 'review.flagged', target: path, details: { adId, model: moderation!.model, reasons: moderation!.reasons.join(',') } },
      );
    } else if (status === 'approved') {
      await this.audit.record(
        { ...POLICY, tenant },
        { action: 'review.auto-approved', target: path, details: { adId, ...(fidelity !== undefined ? { fidelity } : {}) } },
      );
    }
    return review;
  }

  /**
   * The image guardrail's verdict on the ad's bytes, or undefined when it is off. When it cannot
   * run, the ad is not flagged but waits for a person (fails closed, never auto-approved).
   */
  private async moderate(tenant: string, adId: string, info: ObjectInfo, because: string[]): Promise<AdModeration | undefined> {
    if (!this.imageGuardrail) return undefined;
    try {
      const { body } = await this.store.get(info.bucket, info.key);
      const verdict = await this.imageGuardrail.check(body);
      const moderation: AdModeration = { model: verdict.model, flagged: verdict.flagged, reasons: verdict.reasons, scores: verdict.scores };
      if (verdict.flagged) {
        because.push(`image guardrail (${verdict.model}) flagged it: ${verdict.reasons.map((r) => `${r} ${verdict.scores[r]}`).join(', ')}`);
        this.logger.warn('generated ad flagged by the image guardrail', {
          tenant,
          adId,
          model: verdict.model,
          reasons: verdict.reasons,
          scores: verdict.scores,
        });
      }
      return moderation;
    } catch (error) {
      if (!(error instanceof ImageModerationUnavailableError)) throw error;
      because.push('the image guardrail could not run');
      this.logger.error('image guardrail unavailable; the ad waits for a reviewer', { tenant, adId, error: error.message });
      return undefined;
    }
  }

  async mark(tenant: string, path: string, source: AdSource, refs: { jobId?: string; conversationId?: string } = {}): Promise<AdReviewMark | undefined> {
    const review = await this.ensure(tenant, path, source, refs);
    return review ? markOf(review) : undefined;
  }

  async decide(principal: Principal, adId: string, body: ReviewDecisionBody): Promise<AdReview> {
    const tenant = principal.tenant;
    const current = /^[0-9a-f]{32}$/.test(adId) ? await this.get(tenant, adId) : undefined;
    if (!current) throw new ApiError(404, 'not_found', `no ad ${adId.slice(0, 64)}`, [{ field: 'id', reason: 'unknown ad for this tenant' }]);
    const { reason: _previous, ...rest } = current;
    const review = AdReview.parse({
      ...rest,
      status: body.decision === 'approve' ? 'approved' : 'rejected',
      decidedBy: principal.actor,
      decidedAt: new Date().toISOString(),
      ...(body.reason ? { reason: body.reason } : {}),
    });
    await this.save(tenant, review);
    await this.store.delete(this.bucket, this.pendingKey(tenant, adId));
    return review;
  }

  async list(tenant: string, query: ListReviewsQuery): Promise<ListReviewsResponse> {
    // Pending and flagged ads share the queue of markers: both wait for a person.
    const pending = query.status === 'pending' || query.status === 'flagged';
    const prefix = pending ? `reviews/${tenant}/pending/` : `reviews/${tenant}/ads/`;
    const page = await this.store.list(this.bucket, prefix, {
      limit: query.limit,
      ...(query.cursor ? { startAfter: storeCursor.startAfter(prefix, query.cursor) } : {}),
    });
    const items: AdReview[] = [];
    for (const item of page.items) {
      const adId = item.key.slice(prefix.length).replace(/\.json$/, '');
      const review = await this.get(tenant, adId);
      if (!review || review.status !== query.status) continue;
      // An ad deleted since (its job removed, retention) leaves the queue.
      const { bucket, key } = splitStoragePath(review.path);
      if (!(await this.store.stat(bucket, key))) {
        if (pending) await this.store.delete(this.bucket, item.key);
        continue;
      }
      items.push(review);
    }
    return { items, ...(page.nextStartAfter ? { nextCursor: storeCursor.after(prefix, page.nextStartAfter) } : {}) };
  }

  /**
   * Whether the caller may have this object's bytes: reviewers and admins may see every ad;
   * others only approved ones (provenance records and non-ad objects are not gated).
   */
  async assertVisible(principal: Principal, path: string): Promise<void> {
    if (hasRole(principal, 'reviewer')) return;
    const { bucket, key } = splitStoragePath(path);
    if (bucket !== this.buckets.ad || key.endsWith('.json')) return;
    const review = await this.ensure(principal.tenant, path, 'direct');
    // No review means no classified bytes: the ad is not stored yet (it may be while we look) or not this tenant's.
    if (!review) throw new ApiError(404, 'not_found', `no object at ${path}`, [{ field: 'query.path', reason: 'not found for this tenant' }]);
    if (review.status === 'approved') return;
    const state = { pending: 'waiting for review', flagged: 'flagged by the image guardrail and waiting for review', rejected: 'rejected' }[review.status];
    throw new ApiError(403, 'not_approved', `this ad is ${state}; only reviewers can see it until it is approved`, [
      { field: 'query.path', reason: `review ${review.status}` },
    ]);
  }

  /** A listing as a caller who is not a reviewer may see it: without the ads the image guardrail flagged. */
  async withoutFlaggedAds<T extends { path: string }>(
    principal: Principal,
    page: { items: T[]; nextCursor?: string },
  ): Promise<{ items: T[]; nextCursor?: string }> {
    if (hasRole(principal, 'reviewer')) return page;
    const reviews = await Promise.all(
      page.items.map((item) =>
        splitStoragePath(item.path).bucket === this.buckets.ad ? this.ensure(principal.tenant, item.path, 'direct') : Promise.resolve(undefined),
      ),
    );
    return { ...page, items: page.items.filter((_, i) => reviews[i]?.status !== 'flagged') };
  }

  private async get(tenant: string, adId: string): Promise<AdReview | undefined> {
    try {
      return AdReview.parse(JSON.parse((await this.store.get(this.bucket, this.reviewKey(tenant, adId))).body.toString('utf8')));
    } catch (error) {
      if (error instanceof ObjectNotFoundError) return undefined;
      throw error;
    }
  }

  private async save(tenant: string, review: AdReview): Promise<void> {
    await this.store.put(this.bucket, this.reviewKey(tenant, review.adId), Buffer.from(JSON.stringify(review)), {
      contentType: 'application/json',
      metadata: { tenant },
    });
  }

  private reviewKey(tenant: string, adId: string): string {
    return `reviews/${tenant}/ads/${adId}.json`;
  }

  private pendingKey(tenant: string, adId: string): string {
    return `reviews/${tenant}/pending/${adId}`;
  }
}

/** What a job or conversation shows of an ad's review. */
export const markOf = (review: AdReview): AdReviewMark => ({
  adId: review.adId,
  status: review.status,
  ...(review.fidelity !== undefined ? { fidelity: review.fidelity } : {}),
  ...(review.status === 'flagged' && review.moderation ? { flags: review.moderation.reasons } : {}),
});
