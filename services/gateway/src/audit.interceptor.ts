import { Injectable, SetMetadata, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Response } from 'express';
import { from, mergeMap, type Observable } from 'rxjs';
import { AuditLog } from './audit.log';
import type { PrincipalRequest } from './roles';

export const AUDIT_ACTION = 'adseed:audit-action';
/** Names the audit action of a route (default `request` for a mutating route). */
export const Audited = (action: string) => SetMetadata(AUDIT_ACTION, action);
const READ_ONLY = 'adseed:read-only';
/** Marks a POST route that only reads (a search): recorded like a GET, not as a mutation. */
export const ReadOnlyRoute = () => SetMetadata(READ_ONLY, true);

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Records every mutating `/v1` request (POST, PATCH, DELETE) that succeeded, once it is done and
 * before the answer leaves, and, with API keys configured, the first use of each key per hour
 * by any request. A refused request (4xx/5xx) changed nothing and is not recorded, so a bad call
 * leaves the store as it was; a request that fails authentication never gets here.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  constructor(
    private readonly audit: AuditLog,
    private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const request = context.switchToHttp().getRequest<PrincipalRequest>();
    const principal = request.principal;
    if (!principal) return next.handle();
    const route = `${request.method} ${(request.route as { path?: string } | undefined)?.path ?? request.path}`;
    const firstUse = principal.actor !== 'local' && this.audit.firstUseThisHour(principal);
    const before: Observable<unknown> = firstUse
      ? from(this.audit.record(principal, { action: 'key.used', method: request.method, route }))
      : from([undefined]);
    if (READS.has(request.method) || this.reflector.get<boolean | undefined>(READ_ONLY, context.getHandler()))
      return before.pipe(mergeMap(() => next.handle()));
    const action = this.reflector.get<string | undefined>(AUDIT_ACTION, context.getHandler()) ?? 'request';
    const id = (request.params as Record<string, string> | undefined)?.id;
    const write = (status: number, body?: unknown) => this.audit.record(principal, { action, method: request.method, route, status, ...targetOf(body, id) });
    return before.pipe(
      mergeMap(() => next.handle()),
      mergeMap(async (body: unknown) => {
        await write(context.switchToHttp().getResponse<Response>().statusCode, body);
        return body;
      }),
    );
  }
}

/** What a mutating request acted on, from its answer (the stored path or id), else the route's id. */
function targetOf(body: unknown, id: string | undefined): { target?: string; details?: Record<string, string | number | boolean> } {
  const b = (body ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const review = b.review;
  if (review && typeof review.adId === 'string') {
    return {
      target: typeof review.path === 'string' ? review.path : review.adId,
      details: { adId: review.adId, status: String(review.status), ...(typeof review.reason === 'string' ? { reason: review.reason } : {}) },
    };
  }
  const candidate = b.asset?.path ?? b.deleted?.path ?? b.ad?.path ?? b.job?.id ?? b.experiment?.id ?? id;
  return typeof candidate === 'string' ? { target: candidate } : {};
}
