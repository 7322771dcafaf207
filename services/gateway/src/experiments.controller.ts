import { CreateExperimentBody, VoteBody, type Experiment } from '@adseed/contracts';
import { Body, Controller, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { Audited } from './audit.interceptor';
import { ExperimentsService } from './experiments.service';
import { CurrentPrincipal, Roles, type Principal } from './roles';
import { Tenant, TenantGuard } from './tenant.guard';
import { ModerateText } from './text-guardrail.interceptor';
import { ZodPipe } from './zod.pipe';

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
  async create(
    @CurrentPrincipal() principal: Principal,
    @Body(new ZodPipe(CreateExperimentBody)) body: CreateExperimentBody,
  ): Promise<{ experiment: Experiment }> {
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
  async vote(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body(new ZodPipe(VoteBody)) body: VoteBody,
  ): Promise<{ experiment: Experiment }> {
    return { experiment: await this.experiments.vote(principal, id, body) };
  }
}
