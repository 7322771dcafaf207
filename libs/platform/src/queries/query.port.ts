import { AsyncLocalStorage } from 'node:async_hooks';
import { queryPath, toErrorIssues, type QueryDef } from '@adseed/contracts';
import { ServiceError } from '@adseed/messaging';

/**
 * The query port: calls a caller waits on (search, text embedding, conversation commands, the
 * subject catalogue, asset reads). Two adapters: in-process (the one-process mode, direct calls)
 * and gRPC (every service its own process). Both validate request and reply against the query's
 * schemas and keep a `ServiceError`'s status, code and issues across the call.
 */
export interface QueryClient {
  call<Req, Res>(query: QueryDef<Req, Res>, request: Req, options?: CallOptions): Promise<Res>;
  close(): Promise<void>;
}

export interface CallOptions {
  /** A tighter bound than the query's own `timeoutMs` for this call. */
  timeoutMs?: number;
}

export type QueryHandler<Req, Res> = (request: Req) => Promise<Res>;

/** Where a service registers the queries it answers. */
export interface QueryServer {
  handle<Req, Res>(query: QueryDef<Req, Res>, handler: QueryHandler<Req, Res>): void;
}

export const QUERY_CLIENT = Symbol('QUERY_CLIENT');
export const QUERY_SERVER = Symbol('QUERY_SERVER');

/** Kept free at each hop so the caller can still turn an inner timeout into its own answer. */
export const HOP_MARGIN_MS = 50;

const deadlines = new AsyncLocalStorage<number>();

/** Runs `work` (a query handler) under the caller's deadline: every query it makes inherits it. */
export function withDeadline<T>(deadline: number | undefined, work: () => Promise<T>): Promise<T> {
  return deadline === undefined || !Number.isFinite(deadline) ? work() : deadlines.run(deadline, work);
}

/** The deadline in force for the current handler, if it was called with one. */
export const currentDeadline = (): number | undefined => deadlines.getStore();

/**
 * The deadline of one call: the query's own budget (and the caller's option, and the root budget
 * `ADSEED_REQUEST_TIMEOUT_MS`), never later than what is left of the deadline this code runs under.
 */
export function deadlineOf(query: QueryDef<unknown, unknown>, options: CallOptions | undefined, rootTimeoutMs: number, now = Date.now()): number {
  const own = now + Math.min(query.timeoutMs, options?.timeoutMs ?? Infinity, rootTimeoutMs);
  const inherited = currentDeadline();
  return inherited === undefined ? own : Math.min(own, inherited - HOP_MARGIN_MS);
}

/** The request as the server will see it, or a 400 naming every bad field. */
export function parseRequest<Req>(query: QueryDef<Req, unknown>, request: unknown): Req {
  const result = query.request.safeParse(request);
  if (result.success) return result.data;
  throw new ServiceError(400, 'validation_failed', `invalid ${query.method} request`, toErrorIssues(result.error));
}

/** The reply as the caller will see it; a reply that breaks its schema is the server's fault. */
export function parseReply<Res>(query: QueryDef<unknown, Res>, reply: unknown): Res {
  const result = query.reply.safeParse(reply);
  if (result.success) return result.data;
  throw new ServiceError(
    502,
    'bad_reply',
    `reply of ${queryPath(query)} does not match its schema: ${toErrorIssues(result.error)
      .map((i) => `${i.field}: ${i.reason}`)
      .join('; ')
      .slice(0, 500)}`,
  );
}

/** A handler's failure as the caller sees it: its own `ServiceError`, or a 500 saying which query failed. */
export function asServiceError(query: QueryDef<unknown, unknown>, error: unknown): ServiceError {
  if (error instanceof ServiceError) return error;
  return new ServiceError(500, 'internal', `${queryPath(query)} failed: ${(error as Error)?.message ?? String(error)}`);
}

/** The server could not be reached (or is shutting down): worth retrying after a moment. */
export class UpstreamUnavailableError extends ServiceError {
  readonly retryAfterSeconds = 1;
  constructor(query: QueryDef<unknown, unknown>, detail: string) {
    super(503, 'upstream_unavailable', `${query.service} is unavailable (${queryPath(query)}): ${detail}`);
  }
}

/** The call's deadline passed: the answer may still come, but nobody waits for it. */
export class UpstreamTimeoutError extends ServiceError {
  readonly retryAfterSeconds = 1;
  constructor(query: QueryDef<unknown, unknown>, budgetMs: number) {
    super(504, 'upstream_timeout', `${query.service} did not answer ${queryPath(query)} within ${Math.max(0, Math.round(budgetMs))} ms`);
  }
}
