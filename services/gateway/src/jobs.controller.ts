import { CreateJobBody, IDEMPOTENCY_KEY_PATTERN, ListJobsQuery, type Job } from '@adseed/contracts';
import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Query, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { ApiError } from './http-errors';
import { EventStreams, jobPosition, StateReplay, type EventStream } from './event-stream';
import { JobEventsHub } from './job-events.hub';
import { JobsService } from './jobs.service';
import { Tenant, TenantGuard } from './tenant.guard';
import { ZodPipe } from './zod.pipe';

/** Creative jobs: many ads at once, made in the background. Each handler parses and delegates. */
@Controller('v1/jobs')
@UseGuards(TenantGuard)
export class JobsController {
  constructor(
    private readonly jobs: JobsService,
    private readonly hub: JobEventsHub,
    private readonly streams: EventStreams,
  ) {}

  @Post()
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
  async get(@Tenant() tenant: string, @Param('id') id: string): Promise<{ job: Job }> {
    return { job: await this.jobs.get(tenant, id) };
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
   * Server-sent events: the state now, then on every change; the stream ends when the job does.
   * With `Last-Event-ID` (an EventSource reconnecting) the state is sent only if it is newer than
   * that id; a finished job whose last state the client has answers 204, which tells an
   * EventSource to stop reconnecting.
   */
  @Get(':id/events')
  async events(@Tenant() tenant: string, @Param('id') id: string, @Headers('last-event-id') lastEventId: string | undefined, @Res() res: Response): Promise<void> {
    const replay = new StateReplay(jobPosition, lastEventId);
    // Set once the headers are out; states offered before wait for it.
    const out: { stream?: EventStream } = {};
    const send = (job: Job): void => {
      const { stream } = out;
      if (!stream || stream.closed) return;
      const eventId = replay.offer(job);
      if (eventId) stream.send(eventId, job);
      if (this.jobs.isTerminal(job)) stream.end();
    };
    // Listen before reading, so a change between the read and the subscription is not missed;
    // changes queue behind the first state, and each re-reads, so progress never goes backwards.
    let open: () => void = () => undefined;
    let sending = new Promise<void>((resolve) => (open = resolve));
    // A burst of changes (one per ad) needs one read, not one each: at most one read waits.
    let queued = false;
    const stop = this.hub.listen(id, (update) => {
      if (update.tenant !== tenant || queued) return;
      queued = true;
      sending = sending.then(() => {
        queued = false;
        return this.jobs.get(tenant, id).then(send, () => out.stream?.end());
      });
    });
    let initial: Job;
    try {
      await this.hub.listening();
      initial = await this.jobs.get(tenant, id);
    } catch (error) {
      stop();
      throw error;
    }
    if (this.jobs.isTerminal(initial) && replay.has(initial)) {
      stop();
      res.status(204).end();
      return;
    }
    out.stream = this.streams.start(res, stop);
    send(initial);
    open();
  }
}
