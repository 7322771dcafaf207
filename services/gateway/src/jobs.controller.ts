import { CreateJobBody, IDEMPOTENCY_KEY_PATTERN, ListJobsQuery, type Job } from '@adseed/contracts';
import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Query, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { ApiError } from './http-errors';
import { JobStreamService } from './job-stream.service';
import { JobsService } from './jobs.service';
import { ModerateText } from './text-guardrail.interceptor';
import { CurrentPrincipal, type Principal } from './roles';
import { Tenant, TenantGuard } from './tenant.guard';
import { ZodPipe } from './zod.pipe';

/** Creative jobs: many ads at once, made in the background. Each handler parses and delegates. */
@Controller('v1/jobs')
@UseGuards(TenantGuard)
export class JobsController {
  constructor(
    private readonly jobs: JobsService,
    private readonly events: JobStreamService,
  ) {}

  @Post()
  @ModerateText('segments', 'headline', 'callToAction')
  async create(
    @Tenant() tenant: string,
    @Body(new ZodPipe(CreateJobBody)) body: CreateJobBody,
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
  list(@Tenant() tenant: string, @Query(new ZodPipe(ListJobsQuery, 'query')) query: ListJobsQuery) {
    return this.jobs.list(tenant, query);
  }

  @Get(':id')
  async get(@Tenant() tenant: string, @Param('id') id: string, @CurrentPrincipal() viewer: Principal): Promise<{ job: Job }> {
    return { job: await this.jobs.get(tenant, id, viewer) };
  }

  @Post(':id/cancel')
  @HttpCode(200)
  async cancel(@Tenant() tenant: string, @Param('id') id: string): Promise<{ job: Job }> {
    return { job: await this.jobs.cancel(tenant, id) };
  }

  @Delete(':id')
  @HttpCode(204)
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
