import { assetContentUrl, MAX_SUBJECT_CHARS, Queries, type CreateAdBody, type CreateAdPendingResponse, type CreateAdResponse } from '@adseed/contracts';
import { ServiceError } from '@adseed/messaging';
import { QUERY_CLIENT, SERVICE_CONFIG, type QueryClient } from '@adseed/platform';
import { Inject, Injectable } from '@nestjs/common';
import type { z } from 'zod';
import { AssetsService } from './assets.service';
import type { GatewayEnv } from './gateway.env';
import { ApiError } from './http-errors';
import { ReviewService } from './review.service';
import { SingleAds } from './single-ads';

/** What `POST /v1/ads` made: the ad, or (past `ADSEED_AD_WAIT_MS`) where it will be. */
export type CreatedAd =
  { generating: false; ad: z.infer<typeof CreateAdResponse>['ad'] } | { generating: true; ad: z.infer<typeof CreateAdPendingResponse>['ad'] };

/** A caption may hold 2,000 characters; the generator takes a subject of at most MAX_SUBJECT_CHARS (a surrogate pair is not split). */
export const subjectOf = (caption: string): string => {
  const cut = caption.slice(0, MAX_SUBJECT_CHARS);
  return /[\ud800-\udbff]$/.test(cut) ? cut.slice(0, -1) : cut;
};

/**
 * One ad without a conversation: from a seed (+ brand), or from a segment via its best-matching
 * seed (a search; its caption becomes the ad's subject). The ad is requested by event and waited
 * for, bounded by `ADSEED_AD_WAIT_MS`; a finished ad is registered for review.
 */
@Injectable()
export class CreateAdUseCase {
  constructor(
    @Inject(QUERY_CLIENT) private readonly queries: QueryClient,
    @Inject(SERVICE_CONFIG) private readonly env: GatewayEnv,
    private readonly assets: AssetsService,
    private readonly reviews: ReviewService,
    private readonly ads: SingleAds,
  ) {}

  async execute(tenant: string, body: CreateAdBody): Promise<CreatedAd> {
    if (body.brandPath) await this.assets.assertBrandImage(tenant, body.brandPath);
    const { seedPath, subject } = body.seedPath ? { seedPath: body.seedPath, subject: undefined } : await this.bestSeed(tenant, body.segment!);
    const requested = await this.ads.request(
      {
        tenant,
        seedPath,
        ...(body.brandPath ? { brandPath: body.brandPath } : {}),
        ...(body.headline ? { headline: body.headline } : {}),
        ...(body.callToAction ? { callToAction: body.callToAction } : {}),
        ...(subject ? { subject } : {}),
        ...(body.segment ? { segment: body.segment } : {}),
      },
      { origin: 'direct', waitMs: this.env.ADSEED_AD_WAIT_MS },
    );
    const { outcome } = requested;
    // still being made: where it will be, and nothing else yet
    if (!outcome) return { generating: true, ad: { path: requested.path, url: assetContentUrl(requested.path), seedPath, ...(subject ? { subject } : {}) } };
    if (outcome.error || !outcome.ad)
      throw ServiceError.fromPayload(outcome.error ?? { status: 500, code: 'internal', message: 'generation answered without an ad' });
    const ad = outcome.ad;
    const review = await this.reviews.mark(tenant, ad.path, 'direct');
    return {
      generating: false,
      ad: {
        path: ad.path,
        url: assetContentUrl(ad.path),
        seedPath: ad.seedPath,
        brandPath: ad.brandPath,
        generator: ad.generator,
        ...(subject ? { subject } : {}),
        ...(ad.fidelity !== undefined ? { fidelity: ad.fidelity } : {}),
        ...(ad.brandKitVersion !== undefined ? { brandKitVersion: ad.brandKitVersion } : {}),
        ...(review ? { review } : {}),
      },
    };
  }

  /** The seed that best matches the segment, and its caption as the ad's subject; 404 `no_seeds` when the library has none. */
  private async bestSeed(tenant: string, segment: string): Promise<{ seedPath: string; subject: string | undefined }> {
    const found = await this.queries.call(Queries.search, { tenant, text: segment, k: 1, kind: 'seed', encoders: ['clip', 'caption'] });
    const best = found.hits[0];
    if (!best)
      throw new ApiError(404, 'no_seeds', 'the seed library has nothing for this segment yet: upload seed photos first', [
        { field: 'segment', reason: 'no matching seed' },
      ]);
    return { seedPath: best.path, subject: best.caption ? subjectOf(best.caption) : undefined };
  }
}
