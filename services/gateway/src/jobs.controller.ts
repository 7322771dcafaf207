import { CreateJobBody, IDEMPOTENCY_KEY_PATTERN, ListJobsQuery, type Job } from '@adseed/contracts';
import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Query, Res, UseGuards } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiErrors, ApiJson, ApiStateEvents, ApiTenantHeader, BODY, EVENTS_UNAVAILABLE } from './api-docs';
import * as dto from './api.dtos';
import { ApiError } from './http-errors';
import { JobStreamService } from './job-stream.service';
import { JobsService } from './jobs.service';
import { ModerateText } from './text-guardrail.interceptor';
import { CurrentPrincipal, type Principal } from './roles';
import { Tenant, TenantGuard } from './tenant.guard';
import { ZodPipe } from './zod.pipe';

/** Creative jobs: many ads at once, made in the background. Each handler parses and delegates. */
const NO_SUCH_JOB = { 404: 'No such job for this tenant.' };

@Controller('v1/jobs')
@UseGuards(TenantGuard)
@ApiTags('jobs')
@ApiTenantHeader()
export class JobsController {
  constructor(
    private readonly jobs: JobsService,
    private readonly events: JobStreamService,
  ) {}

  @Post()
  @ApiOperation({
    summary: 'Start a job: ads for every segment (or seed) × format × variant, made in the background',
    description:
      'Answers at once with 202, a `Location` header and the job. Segments are resolved to seeds by search (variants take ' +
      'different seeds from the top results). An `Idempotency-Key` header makes a retried request return the same job.',
  })
  @ApiHeader({
    name: 'idempotency-key',
    required: false,
    description: '1-200 visible ASCII characters; a retry with the same key and body returns the same job',
    schema: { type: 'string', pattern: IDEMPOTENCY_KEY_PATTERN.source },
  })
  @ApiJson(202, dto.JobResponse, 'The job was accepted; follow `Location` or `/v1/jobs/{id}/events`.')
  @ApiJson(200, dto.JobResponse, 'A job with this Idempotency-Key and the same body already exists; this is it.')
  @ApiErrors(BODY, {
    404: 'The brand image or a seed does not exist, or a segment found no seed.',
    409: 'The Idempotency-Key was used for a different request body.',
    422: 'Rejected by the content policy: `code` is `moderation_rejected`; each issue names the field (`segments`, `headline`, `callToAction`) and the category. The text itself is never logged.',
    503: 'The configured moderation endpoint cannot answer and the guardrail fails closed (`moderation_unavailable`).',
  })
  @ModerateText('segments', 'headline', 'callToAction')
  async create(
    @Tenant() tenant: string,
    @Body(new ZodPipe(CreateJobBody)) body: dto.CreateJobBody,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<{ job: Job }> {
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(idempotencyKey)) {
      throw new ApiError(400, 'validation_failed', 'Idempotency-Key must be 1-200 visible ASCII characters', [{ field: 'idempotency-key', reason: 'invalid' }]);
    }
    const { job, created } = await this.jobs.create(tenant, body, idempotencyKey);
    res.status(created ? 202 : 200);
    res.setHeader('Location', `/v1/jobs/${job.id}`);
    return { job };
  }

  @Get()
  @ApiOperation({ summary: "The tenant's jobs, newest first" })
  @ApiJson(200, dto.ListJobsResponse, 'A page of jobs (without their ads).')
  @ApiErrors()
  list(@Tenant() tenant: string, @Query(new ZodPipe(ListJobsQuery, 'query')) query: dto.ListJobsQuery) {
    return this.jobs.list(tenant, query);
  }

  @Get(':id')
  @ApiOperation({ summary: "A job's status, progress and ads" })
  @ApiJson(200, dto.JobResponse, 'The job.')
  @ApiErrors(NO_SUCH_JOB)
  async get(@Tenant() tenant: string, @Param('id') id: string, @CurrentPrincipal() viewer: Principal): Promise<{ job: Job }> {
    return { job: await this.jobs.get(tenant, id, viewer) };
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({ summary: 'Cancel a job: ads not yet made are not made' })
  @ApiJson(200, dto.JobResponse, 'The job, cancelled (or already finished, unchanged).')
  @ApiErrors(NO_SUCH_JOB)
  async cancel(@Tenant() tenant: string, @Param('id') id: string): Promise<{ job: Job }> {
    return { job: await this.jobs.cancel(tenant, id) };
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiOperation({ summary: 'Remove a job and its ads now' })
  @ApiResponse({ status: 204, description: 'Removed.' })
  @ApiErrors(NO_SUCH_JOB)
  async remove(@Tenant() tenant: string, @Param('id') id: string): Promise<void> {
    await this.jobs.remove(tenant, id);
  }

  /**
   * Server-sent events (see JobStreamService.stream). `@Res()`, not `@Sse()`: a finished job whose
   * last state the client has answers 204, which an `@Sse()` route cannot (its status is fixed
   * before the handler has read the job), and with the gateway's global interceptors (audit, HTTP
   * metrics) Nest commits an `@Sse()` route's 200 one macrotask after the handler starts, so an
   * unknown job would answer 200 with `event: error` instead of 404.
   */
  @Get(':id/events')
  @ApiOperation({ summary: "Server-sent events: `event: state` with the job's JSON on every change, until it is done, failed or cancelled" })
  @ApiStateEvents(
    dto.Job,
    "An event stream: `retry:` (the reconnection delay in ms) first, then `state` events (`data`: the job's JSON, `id`: `<ads with an outcome>-<stage: 0 queued, 1 running, 2 finished>`); it ends after the job's final state. " +
      'With `Last-Event-ID` the current state is sent only if it is newer than that id: a client that reconnects catches up and gets no state twice.',
  )
  @ApiResponse({
    status: 204,
    description: 'The job is finished and `Last-Event-ID` names its final state: nothing more will come (an EventSource stops reconnecting).',
  })
  @ApiErrors(NO_SUCH_JOB, EVENTS_UNAVAILABLE)
  stream(
    @Tenant() tenant: string,
    @Param('id') id: string,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Res() res: Response,
    @CurrentPrincipal() viewer: Principal,
  ): Promise<void> {
    return this.events.stream(res, tenant, id, lastEventId, viewer);
  }
}
