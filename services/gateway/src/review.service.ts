import { AdReview, assetContentUrl, assetIdFor, splitStoragePath, storeCursor, type AdReviewMark, type AdSource, type ListReviewsQuery, type ListReviewsResponse, type ReviewDecisionBody } from '@adseed/contracts';
import { RUNTIME, type ServiceRuntime } from '@adseed/platform';
import { ObjectNotFoundError } from '@adseed/storage';
import { Inject, Injectable } from '@nestjs/common';
import { AuditLog } from './audit.log';
import { GATEWAY_ENV, type GatewayEnv, type ReviewPolicy } from './gateway.env';
import { ApiError } from './http-errors';
import { hasRole, type Principal } from './roles';

const POLICY: Principal = { tenant: '', role: 'admin', actor: 'policy' };

/**
 * Every ad's review state, in the state bucket: `reviews/<tenant>/ads/<adId>.json`, plus an
 * empty marker `reviews/<tenant>/pending/<adId>` while it waits for a person (the queue is a
 * listing of markers). An ad is registered when the gateway first sees it (a job outcome, a
 * conversation or `POST /v1/ads` answer, or a request for its bytes); the tenant's policy then
 * approves it at once (`auto-approve`: product fidelity at or above the threshold) or leaves it
 * pending. The ad id is `assetIdFor(path)`.
 */
@Injectable()
export class ReviewService {
  constructor(
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(GATEWAY_ENV) private readonly env: GatewayEnv,
    private readonly audit: AuditLog,
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
    const existing = await this.get(tenant, adId);
    if (existing) return existing;
    const { bucket, key } = splitStoragePath(path);
    if (bucket !== this.runtime.buckets.ad || !key.startsWith(`${tenant}/`)) return undefined;
    const info = await this.runtime.store.stat(bucket, key);
    if (!info) return undefined;
    const raw = info.metadata.fidelity;
    const fidelity = raw !== undefined && Number.isFinite(Number(raw)) ? Number(raw) : undefined;
    const threshold = this.env.ADSEED_FIDELITY_THRESHOLD;
    const because: string[] = [];
    if (this.policyOf(tenant) === 'always-review') because.push('tenant policy: always-review');
    if (fidelity === undefined) because.push('product fidelity was not measured');
    else if (fidelity < threshold) because.push(`product fidelity ${fidelity} is under ${threshold}`);
    const now = new Date().toISOString();
    const review = AdReview.parse({
      adId,
      path,
      url: assetContentUrl(path),
      source,
      ...refs,
      status: because.length ? 'pending' : 'approved',
      ...(fidelity !== undefined ? { fidelity } : {}),
      needsReviewBecause: because,
      createdAt: now,
      ...(because.length ? {} : { decidedBy: 'policy', decidedAt: now }),
    });
    await this.save(tenant, review);
    if (review.status === 'pending') await this.runtime.store.put(this.bucket, this.pendingKey(tenant, adId), Buffer.alloc(0), { contentType: 'application/octet-stream', metadata: { tenant } });
    else await this.audit.record({ ...POLICY, tenant }, { action: 'review.auto-approved', target: path, details: { adId, ...(fidelity !== undefined ? { fidelity } : {}) } });
    return review;
  }

  async mark(tenant: string, path: string, source: AdSource, refs: { jobId?: string; conversationId?: string } = {}): Promise<AdReviewMark | undefined> {
    const review = await this.ensure(tenant, path, source, refs);
    return review ? { adId: review.adId, status: review.status, ...(review.fidelity !== undefined ? { fidelity: review.fidelity } : {}) } : undefined;
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
    await this.runtime.store.delete(this.bucket, this.pendingKey(tenant, adId));
    return review;
  }

  async list(tenant: string, query: ListReviewsQuery): Promise<ListReviewsResponse> {
    const pending = query.status === 'pending';
    const prefix = pending ? `reviews/${tenant}/pending/` : `reviews/${tenant}/ads/`;
    const page = await this.runtime.store.list(this.bucket, prefix, { limit: query.limit, ...(query.cursor ? { startAfter: storeCursor.startAfter(prefix, query.cursor) } : {}) });
    const items: AdReview[] = [];
    for (const item of page.items) {
      const adId = item.key.slice(prefix.length).replace(/\.json$/, '');
      const review = await this.get(tenant, adId);
      if (!review || review.status !== query.status) continue;
      // An ad deleted since (its job removed, retention) leaves the queue.
      const { bucket, key } = splitStoragePath(review.path);
      if (!(await this.runtime.store.stat(bucket, key))) {
        if (pending) await this.runtime.store.delete(this.bucket, item.key);
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
    if (bucket !== this.runtime.buckets.ad || key.endsWith('.json')) return;
    const review = await this.ensure(principal.tenant, path, 'direct');
    if (!review || review.status === 'approved') return;
    throw new ApiError(403, 'not_approved', `this ad is ${review.status === 'pending' ? 'waiting for review' : 'rejected'}; only reviewers can see it until it is approved`, [
      { field: 'query.path', reason: `review ${review.status}` },
    ]);
  }

  private async get(tenant: string, adId: string): Promise<AdReview | undefined> {
    try {
      return AdReview.parse(JSON.parse((await this.runtime.store.get(this.bucket, this.reviewKey(tenant, adId))).body.toString('utf8')));
    } catch (error) {
      if (error instanceof ObjectNotFoundError) return undefined;
      throw error;
    }
  }

  private async save(tenant: string, review: AdReview): Promise<void> {
    await this.runtime.store.put(this.bucket, this.reviewKey(tenant, review.adId), Buffer.from(JSON.stringify(review)), { contentType: 'application/json', metadata: { tenant } });
  }

  private reviewKey(tenant: string, adId: string): string {
    return `reviews/${tenant}/ads/${adId}.json`;
  }

  private pendingKey(tenant: string, adId: string): string {
    return `reviews/${tenant}/pending/${adId}`;
  }
}
