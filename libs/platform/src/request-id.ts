import { requestContext } from '@adseed/telemetry';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';

export const REQUEST_ID_HEADER = 'X-Request-Id';
/** What a caller's `X-Request-Id` may be: a token, not free text that could forge a log line. */
const WELL_FORMED = /^[A-Za-z0-9._:/+=-]{1,128}$/;

type WithId = IncomingMessage & { id?: unknown };

/**
 * The request's id: the caller's `X-Request-Id` when it is well-formed, else a new UUID; set once
 * on the request (`req.id`, where pino-http looks) and echoed as a response header.
 */
export function assignRequestId(req: IncomingMessage, res: ServerResponse): string {
  const request = req as WithId;
  if (typeof request.id === 'string') return request.id;
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && WELL_FORMED.test(given) ? given : randomUUID();
  request.id = id;
  if (!res.headersSent) res.setHeader(REQUEST_ID_HEADER, id);
  return id;
}

/** The id `assignRequestId` gave this request (assigning one if nothing did yet). */
export const requestIdOf = (req: IncomingMessage, res: ServerResponse): string => assignRequestId(req, res);

/**
 * First middleware of every HTTP app: assigns the id and handles the rest of the request inside
 * `requestContext`, so every log line written meanwhile carries it.
 */
export function requestIdMiddleware(req: IncomingMessage, res: ServerResponse, next: () => void): void {
  requestContext.run({ requestId: assignRequestId(req, res) }, next);
}
