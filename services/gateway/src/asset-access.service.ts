import type { Asset, ListAssetsQuery } from '@adseed/contracts';
import type { ObjectInfo } from '@adseed/storage';
import { Injectable } from '@nestjs/common';
import { AssetsService } from './assets.service';
import { ApiError } from './http-errors';
import { ReviewService } from './review.service';
import { hasRole, type Principal } from './roles';

/**
 * Reading the library as one principal may: the quarantine is listed for admins only, and an ad
 * the image guardrail flagged is neither listed nor served to anyone but a reviewer.
 */
@Injectable()
export class AssetAccessService {
  constructor(
    private readonly assets: AssetsService,
    private readonly reviews: ReviewService,
  ) {}

  async list(principal: Principal, query: ListAssetsQuery): Promise<{ items: Asset[]; nextCursor?: string }> {
    if (query.status === 'quarantined' && !hasRole(principal, 'admin')) {
      throw new ApiError(403, 'forbidden', 'the quarantine is listed for admins only', [{ field: 'query.status', reason: 'role admin required' }]);
    }
    return this.reviews.withoutFlaggedAds(principal, await this.assets.list(principal.tenant, query));
  }

  async url(principal: Principal, path: string): Promise<{ url: string; expiresAt?: string; presigned: boolean }> {
    await this.reviews.assertVisible(principal, path);
    return this.assets.url(principal.tenant, path);
  }

  async content(principal: Principal, path: string): Promise<{ body: Buffer; info: ObjectInfo }> {
    await this.reviews.assertVisible(principal, path);
    return this.assets.content(principal.tenant, path);
  }
}
