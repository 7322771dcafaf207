import type { Conversation, Job } from '@adseed/contracts';
import type { Subscription } from '@adseed/messaging';
import { Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import type { Response } from 'express';
import { ApiError } from './http-errors';

/**
 * Server-sent events with EventSource semantics: every event carries an `id:` that orders the
 * states of its stream, the stream opens with a `retry:` delay, and a client that reconnects with
 * `Last-Event-ID` gets only what changed since (the stored state when it is newer than the id, then
 * the changes as they happen), never a state it already has.
 *
 * Both streams send whole states, so the stored conversation or job is the replay: a client that
 * was away gets the newest state, which holds every change made meanwhile (a conversation's
 * messages, a job's ads and failures). No history is kept beside them.
 */

/** How long an EventSource waits before it reconnects (`retry:`), in ms. */
export const SSE_RETRY_MS = 2_000;
const HEARTBEAT_MS = 15_000;
/** How long a new stream waits for its hub to receive updates (a replica just started) before a 503. */
export const LISTENING_TIMEOUT_MS = 30_000;

/**
 * Resolves once a hub's subscription delivers (at once where the bus says nothing). A hub starts at
 * new messages, so right after a replica starts there is a moment when updates do not reach it yet:
 * a stream opened then waits, or a client that reconnected at once would miss the next change.
 */
export async function untilListening(subscription: Subscription | undefined, topic: string, timeoutMs = LISTENING_TIMEOUT_MS): Promise<void> {
  if (!subscription) throw new ApiError(503, 'events_unavailable', `this gateway is starting: it does not receive ${topic} yet; reconnect`);
  if (!subscription.assigned) return;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new ApiError(
            503,
            'events_unavailable',
            `this gateway does not receive ${topic} yet (its consumer group has not joined within ${timeoutMs} ms); reconnect`,
          ),
        ),
      timeoutMs,
    );
  });
  try {
    await Promise.race([subscription.assigned, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A position in one stream: compared field by field, the first field first. */
export type EventPosition = readonly [number, number];

/**
 * A conversation's position: its message count, then its `updatedAt`. The agent adds at least one
 * message with every change it commits, so the count orders the states of one conversation even
 * when two changes share a millisecond; the time breaks a tie (it never should).
 */
export const conversationPosition = (conversation: Conversation): EventPosition => [conversation.messages.length, Date.parse(conversation.updatedAt)];

const JOB_STAGE: Record<Job['status'], number> = { queued: 0, running: 1, done: 2, failed: 2, cancelled: 2 };

/**
 * A job's position: how many of its ads have an outcome (made or failed), then its stage (queued,
 * running, finished). Outcomes are only ever added, so two states of one job with the same count
 * and stage are the same state.
 */
export const jobPosition = (job: Job): EventPosition => [job.progress.done + job.progress.failed, JOB_STAGE[job.status]];

export const formatEventId = (position: EventPosition): string => `${position[0]}-${position[1]}`;

/** The position a `Last-Event-ID` names, or undefined when it names none of ours (then the client gets everything). */
export function parseEventId(raw: string | undefined): EventPosition | undefined {
  const match = /^(\d{1,15})-(\d{1,15})$/.exec(raw?.trim() ?? '');
  return match ? [Number(match[1]), Number(match[2])] : undefined;
}

export const comparePositions = (a: EventPosition, b: EventPosition): number => a[0] - b[0] || a[1] - b[1];

/**
 * Decides which states of one stream go out: only those past the last one sent (or, at first, past
 * the client's `Last-Event-ID`). States may be offered out of order and more than once — the stored
 * state read on connect and the live updates overlap — and each goes out at most once, in order.
 */
export class StateReplay<T> {
  private last: EventPosition | undefined;

  constructor(
    private readonly position: (state: T) => EventPosition,
    lastEventId?: string,
  ) {
    this.last = parseEventId(lastEventId);
  }

  /** The event id to send `state` under, or undefined when the client has it (or something newer). */
  offer(state: T): string | undefined {
    const position = this.position(state);
    if (this.last && comparePositions(position, this.last) <= 0) return undefined;
    this.last = position;
    return formatEventId(position);
  }

  /** Whether the client already holds `state` or a newer one. */
  has(state: T): boolean {
    return this.last !== undefined && comparePositions(this.position(state), this.last) <= 0;
  }
}

export interface EventStream {
  /** Writes one `event: state` with its id. */
  send(id: string, data: unknown): void;
  end(): void;
  readonly closed: boolean;
}

/**
 * The open event streams of this gateway replica. On shutdown each is ended, so the HTTP server can
 * close (an open response would hold it until the process is killed) and every client reconnects
 * at once — to this replica once it is back, or to another.
 */
@Injectable()
export class EventStreams implements BeforeApplicationShutdown {
  private readonly open = new Set<EventStream>();
  private stopping = false;

  /**
   * Throws 503 once this replica is stopping: its hubs stop hearing of changes while it stops, so a
   * stream opened then (an EventSource reconnects within `retry:`) would serve a stale state and
   * nothing after it. The client reconnects to another replica, or to this one once it is back.
   */
  accepting(): void {
    if (this.stopping) throw new ApiError(503, 'events_unavailable', 'this gateway replica is stopping; reconnect');
  }

  /** Starts the event stream on `res` (200, the SSE headers, `retry:`), with keep-alive comments. */
  start(res: Response, onEnd: () => void): EventStream {
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    res.write(`retry: ${SSE_RETRY_MS}\n\n`);
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    let closed = false;
    const stream: EventStream = {
      send: (id, data) => {
        if (!closed) res.write(`event: state\nid: ${id}\ndata: ${JSON.stringify(data)}\n\n`);
      },
      end: () => {
        if (closed) return;
        closed = true;
        clearInterval(heartbeat);
        this.open.delete(stream);
        onEnd();
        res.end();
      },
      get closed() {
        return closed;
      },
    };
    this.open.add(stream);
    res.on('close', () => stream.end());
    // The client may have left while the handler waited (for its hub, for the stored state), or
    // the replica started to stop meanwhile (the client reconnects).
    if (!res.socket || res.socket.destroyed || this.stopping) stream.end();
    return stream;
  }

  get size(): number {
    return this.open.size;
  }

  beforeApplicationShutdown(): void {
    this.stopping = true;
    for (const stream of [...this.open]) stream.end();
  }
}
