import { CreateExperimentBody, VoteBody, type Experiment } from '@adseed/contracts';
import { Body, Controller, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiJson, ApiTenantHeader, BODY, FORBIDDEN } from './api-docs';
import * as dto from './api.dtos';
import { Audited } from './audit.interceptor';
import { ExperimentsService } from './experiments.service';
import { CurrentPrincipal, Roles, type Principal } from './roles';
import { Tenant, TenantGuard } from './tenant.guard';
import { ModerateText } from './text-guardrail.interceptor';
import { ZodPipe } from './zod.pipe';

/** Blind A/B experiments (reviewer or admin). */
const NO_SUCH_EXPERIMENT = { 404: 'No such experiment.' };

@Controller('v1/experiments')
@UseGuards(TenantGuard)
@ApiTags('experiments')
@ApiTenantHeader()
@Roles('reviewer')
export class ExperimentsController {
  constructor(private readonly experiments: ExperimentsService) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({ summary: 'Start a blind A/B experiment (reviewer): every configuration makes an ad from every seed' })
  @ApiJson(202, dto.ExperimentResponse, 'Accepted; ads are being made.')
  @ApiErrors(BODY, FORBIDDEN, { 404: "The brand image does not exist, or a seed path is not one of this tenant's seed photos." })
  @ModerateText('segment', 'headline', 'callToAction')
  @Audited('experiment.created')
  async create(
    @CurrentPrincipal() principal: Principal,
    @Body(new ZodPipe(CreateExperimentBody)) body: dto.CreateExperimentBody,
  ): Promise<{ experiment: Experiment }> {
    return { experiment: await this.experiments.create(principal, body) };
  }

  @Get(':id')
  @ApiOperation({ summary: 'An experiment: per configuration wins, win rate with a 95 % Wilson interval, Bradley–Terry ranking' })
  @ApiJson(200, dto.ExperimentResponse, 'The experiment and its results.')
  @ApiErrors(FORBIDDEN, NO_SUCH_EXPERIMENT)
  async get(@Tenant() tenant: string, @Param('id') id: string): Promise<{ experiment: Experiment }> {
    return { experiment: await this.experiments.get(tenant, id) };
  }

  @Get(':id/next-pair')
  @ApiOperation({ summary: 'Two ads from the same seed and brand, sides randomised, configurations hidden (null: none ready yet)' })
  @ApiJson(200, dto.NextPairResponse, 'A pair to vote on.')
  @ApiErrors(FORBIDDEN, NO_SUCH_EXPERIMENT)
  nextPair(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    return this.experiments.nextPair(principal, id);
  }

  @Post(':id/votes')
  @HttpCode(201)
  @ApiOperation({ summary: 'Vote on a pair: left, right or both bad (one vote per pair)' })
  @ApiJson(201, dto.ExperimentResponse, 'Counted; the experiment with its results.')
  @ApiErrors(BODY, FORBIDDEN, { 404: 'No such experiment or pair.', 409: 'This pair has a vote already.' })
  @Audited('experiment.voted')
  async vote(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Body(new ZodPipe(VoteBody)) body: dto.VoteBody,
  ): Promise<{ experiment: Experiment }> {
    return { experiment: await this.experiments.vote(principal, id, body) };
  }
}
