import { ListReviewsQuery, ReviewDecisionBody } from '@adseed/contracts';
import { Body, Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiJson, ApiTenantHeader, BODY, FORBIDDEN } from './api-docs';
import * as dto from './api.dtos';
import { Audited } from './audit.interceptor';
import { ReviewService } from './review.service';
import { CurrentPrincipal, Roles, type Principal } from './roles';
import { Tenant, TenantGuard } from './tenant.guard';
import { ZodPipe } from './zod.pipe';

/** Review queue and decisions (reviewer or admin). */
@Controller('v1')
@UseGuards(TenantGuard)
@ApiTags('review')
@ApiTenantHeader()
export class ReviewsController {
  constructor(private readonly reviews: ReviewService) {}

  @Get('reviews')
  @ApiOperation({ summary: 'Ads by review state (reviewer): `status=pending` is the queue' })
  @ApiJson(200, dto.ListReviewsResponse, 'A page of ads with their review state.')
  @ApiErrors(FORBIDDEN)
  @Roles('reviewer')
  list(@Tenant() tenant: string, @Query(new ZodPipe(ListReviewsQuery, 'query')) query: dto.ListReviewsQuery) {
    return this.reviews.list(tenant, query);
  }

  @Post('ads/:id/review')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Approve or reject an ad (reviewer); a rejection needs a reason',
    description:
      "The reviewer (the key's name) and the time are recorded on the ad and in the audit log. `id` is the ad's `adId` (from `GET /v1/reviews`, or `review.adId` on job and conversation ads).",
  })
  @ApiJson(200, dto.ReviewResponse, "The ad's review state after the decision.")
  @ApiErrors(BODY, FORBIDDEN, { 404: 'No such ad for this tenant.' })
  @Roles('reviewer')
  @Audited('review.decided')
  async decide(@CurrentPrincipal() principal: Principal, @Param('id') id: string, @Body(new ZodPipe(ReviewDecisionBody)) body: dto.ReviewDecisionBody) {
    return { review: await this.reviews.decide(principal, id, body) };
  }
}
