import { CreateExperimentBody, ListAuditQuery, ListReviewsQuery, ReviewDecisionBody, VoteBody, type Experiment } from '@adseed/contracts';
import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, UseGuards } from '@nestjs/common';
import { Audited } from './audit.interceptor';
import { AuditLog } from './audit.log';
import { ExperimentsService } from './experiments.service';
import { ReviewService } from './review.service';
import { CurrentPrincipal, Roles, type Principal } from './roles';
import { Tenant, TenantGuard } from './tenant.guard';
import { ModerateText } from './text-guardrail.interceptor';
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

/** The append-only audit log (admin). */
@Controller('v1/audit')
@UseGuards(TenantGuard)
export class AuditController {
  constructor(@Inject(AuditLog) private readonly audit: AuditLog) {}

  @Get()
  @Roles('admin')
  list(@Tenant() tenant: string, @Query(new ZodPipe(ListAuditQuery, 'query')) query: ListAuditQuery) {
    return this.audit.list(tenant, query);
  }
}

/** Blind A/B experiments (reviewer or admin). */
@Controller('v1/experiments')
@UseGuards(TenantGuard)
@Roles('reviewer')
export class ExperimentsController {
  constructor(private readonly experiments: ExperimentsService) {}

  @Post()
  @HttpCode(202)
  @ModerateText('segment', 'headline', 'callToAction')
  @Audited('experiment.created')
  async create(@CurrentPrincipal() principal: Principal, @Body(new ZodPipe(CreateExperimentBody)) body: CreateExperimentBody): Promise<{ experiment: Experiment }> {
    return { experiment: await this.experiments.create(principal, body) };
  }

  @Get(':id')
  async get(@Tenant() tenant: string, @Param('id') id: string): Promise<{ experiment: Experiment }> {
    return { experiment: await this.experiments.get(tenant, id) };
  }

  @Get(':id/next-pair')
  nextPair(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    return this.experiments.nextPair(principal, id);
  }

  @Post(':id/votes')
  @HttpCode(201)
  @Audited('experiment.voted')
  async vote(@CurrentPrincipal() principal: Principal, @Param('id') id: string, @Body(new ZodPipe(VoteBody)) body: VoteBody): Promise<{ experiment: Experiment }> {
    return { experiment: await this.experiments.vote(principal, id, body) };
  }
}
