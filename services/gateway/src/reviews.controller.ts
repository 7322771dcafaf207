import { ListReviewsQuery, ReviewDecisionBody } from '@adseed/contracts';
import { Body, Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { Audited } from './audit.interceptor';
import { ReviewService } from './review.service';
import { CurrentPrincipal, Roles, type Principal } from './roles';
import { Tenant, TenantGuard } from './tenant.guard';
import { ZodPipe } from './zod.pipe';

/** Review queue and decisions (reviewer or admin). */
@Controller('v1')
@UseGuards(TenantGuard)
export class ReviewsController {
  constructor(private readonly reviews: ReviewService) {}

  @Get('reviews')
  @Roles('reviewer')
  list(@Tenant() tenant: string, @Query(new ZodPipe(ListReviewsQuery, 'query')) query: ListReviewsQuery) {
    return this.reviews.list(tenant, query);
  }

  @Post('ads/:id/review')
  @HttpCode(200)
  @Roles('reviewer')
  @Audited('review.decided')
  async decide(@CurrentPrincipal() principal: Principal, @Param('id') id: string, @Body(new ZodPipe(ReviewDecisionBody)) body: ReviewDecisionBody) {
    return { review: await this.reviews.decide(principal, id, body) };
  }
}
