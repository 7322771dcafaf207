import type { Job } from '@adseed/contracts';
import { Injectable } from '@nestjs/common';
import type { Response } from 'express';
import { EventStreams, jobPosition, StateReplay, type EventStream } from './event-stream';
import { JobEventsHub } from './job-events.hub';
import { JobsService } from './jobs.service';
import type { Principal } from './roles';

/** The server-sent event stream of one job's states, as its viewer may see them. */
@Injectable()
export class JobStreamService {
  constructor(
    private readonly jobs: JobsService,
    private readonly hub: JobEventsHub,
    private readonly streams: EventStreams,
  ) {}

  /**
   * Server-sent events on `res`: the state now, then on every change; the stream ends when the job does.
   * With `Last-Event-ID` (an EventSource reconnecting) the state is sent only if it is newer than
   * that id; a finished job whose last state the client has answers 204, which tells an
   * EventSource to stop reconnecting.
   */
  async stream(res: Response, tenant: string, id: string, lastEventId: string | undefined, viewer: Principal): Promise<void> {
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
        return this.jobs.get(tenant, id, viewer).then(send, () => out.stream?.end());
      });
    });
    let initial: Job;
    try {
      this.streams.accepting();
      await this.hub.listening();
      initial = await this.jobs.get(tenant, id, viewer);
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
