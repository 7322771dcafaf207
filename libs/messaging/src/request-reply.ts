import { randomUUID } from 'node:crypto';
import type { RouteDef } from '@adseed/contracts';
import { ReplyEnvelope } from './envelope';
import { H, RequestTimeoutError, ServiceError, type Headers, type IncomingMessage } from './event-bus.port';

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
  route: RouteDef<unknown, unknown>;
}

/**
 * The requester's side of request/reply, shared by both bus adapters: correlation ids, a
 * deadline per request, and validation of the reply against the route's schema.
 */
export class PendingReplies {
  private readonly pending = new Map<string, Pending>();

  open<Res>(route: RouteDef<unknown, Res>, timeoutMs: number): { correlationId: string; reply: Promise<Res> } {
    const correlationId = randomUUID();
    const reply = new Promise<Res>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId);
        reject(new RequestTimeoutError(route.request.name, timeoutMs));
      }, timeoutMs);
      this.pending.set(correlationId, { resolve: resolve, reject, timer, route: route });
    });
    // The reply can settle before the caller gets the promise (a fast error reply racing the
    // producer's acknowledgement). Mark it handled now so that is not an unhandled rejection,
    // which would end the process; the caller still receives the rejection.
    reply.catch(() => undefined);
    return { correlationId, reply };
  }

  fail(correlationId: string, error: Error): void {
    const entry = this.pending.get(correlationId);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.pending.delete(correlationId);
    entry.reject(error);
  }

  /** Settles the matching request; replies for requests that already timed out are dropped. */
  settle(headers: Headers, raw: string): void {
    const correlationId = headers[H.correlationId];
    const entry = correlationId ? this.pending.get(correlationId) : undefined;
    if (!entry || !correlationId) return;
    clearTimeout(entry.timer);
    this.pending.delete(correlationId);
    let envelope: ReplyEnvelope;
    try {
      envelope = ReplyEnvelope.parse(JSON.parse(raw));
    } catch {
      entry.reject(new ServiceError(502, 'bad_reply', `unreadable reply on ${entry.route.request.name}`));
      return;
    }
    if (!envelope.ok) {
      entry.reject(ServiceError.fromPayload(envelope.error));
      return;
    }
    const value = entry.route.reply.safeParse(envelope.value);
    if (value.success) entry.resolve(value.data);
    else entry.reject(new ServiceError(502, 'bad_reply', `reply on ${entry.route.request.name} does not match its schema`));
  }

  rejectAll(error: Error): void {
    for (const id of [...this.pending.keys()]) this.fail(id, error);
  }
}

/** Runs a responder's handler and turns its outcome into the reply envelope (never throws). */
export async function produceReply<Req, Res>(
  route: RouteDef<Req, Res>,
  message: IncomingMessage<Req>,
  handler: (message: IncomingMessage<Req>) => Promise<Res>,
): Promise<string> {
  try {
    const value = await handler(message);
    return JSON.stringify({ ok: true, value: route.reply.parse(value) });
  } catch (error) {
    const payload =
      error instanceof ServiceError
        ? error.toPayload()
        : { status: 500, code: 'internal', message: `${route.request.name} failed: ${(error as Error).message}` };
    return JSON.stringify({ ok: false, error: payload });
  }
}

/** Headers that make a reply find its request. */
export const replyHeaders = (request: Headers): Headers => ({ [H.correlationId]: request[H.correlationId] ?? '' });
