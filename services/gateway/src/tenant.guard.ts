import { timingSafeEqual } from 'node:crypto';
import { SERVICE_CONFIG } from '@adseed/platform';
import { createParamDecorator, Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { Reflector } from '@nestjs/core';
import { type ApiKeyEntry, type GatewayEnv } from './gateway.env';
import { ApiError } from './http-errors';
import { hasRole, ROLES_KEY, type PrincipalRequest, type Role } from './roles';
import { keyFingerprint, readCookie, SESSION_COOKIE, SessionTokens, type Session } from './session.tokens';

/** The session cookie authenticates reads only: a cross-site request that rides on it can change nothing. */
const COOKIE_METHODS = new Set(['GET', 'HEAD']);

type TenantRequest = PrincipalRequest;

/**
 * Access is per tenant. With API keys configured, the bearer key decides the tenant and the
 * `X-Tenant-Id` header cannot widen it; without keys (the embedded demo), the header selects
 * the tenant, defaulting to `ADSEED_DEFAULT_TENANT`, and the caller is an admin (the local
 * demo needs every page). A route marked `@Roles(...)` needs at least that role: 403 otherwise.
 * A GET or HEAD without the header may instead carry the web UI's session cookie (`POST
 * /v1/session`), since `<img>` and `EventSource` cannot send headers.
 */
@Injectable()
export class TenantGuard implements CanActivate {
  constructor(
    @Inject(SERVICE_CONFIG) private readonly env: GatewayEnv,
    private readonly reflector: Reflector,
    private readonly sessions: SessionTokens,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<TenantRequest>();
    const header = request.header('x-tenant-id')?.trim().toLowerCase();
    if (this.env.ADSEED_API_KEYS.size > 0) {
      const presented = this.bearer(request);
      const entry = presented ? this.lookup(presented) : undefined;
      const session = presented === undefined ? this.session(request) : undefined;
      const who = entry ?? session;
      if (!who) {
        const cookie = presented === undefined && readCookie(request.header('cookie'), SESSION_COOKIE) !== undefined;
        const reason = presented
          ? 'unknown key'
          : cookie
            ? COOKIE_METHODS.has(request.method)
              ? 'session expired or no longer valid: sign in again'
              : 'a session cookie is accepted on GET only'
            : 'missing';
        throw new ApiError(401, 'unauthorized', 'send a valid API key as `Authorization: Bearer <key>`', [{ field: 'authorization', reason }]);
      }
      const tenant = who.tenant;
      if (header && header !== tenant)
        throw new ApiError(403, 'forbidden', `this key belongs to another tenant than ${header}`, [{ field: 'x-tenant-id', reason: 'does not match the key' }]);
      request.tenant = tenant;
      request.principal = { tenant, role: who.role, actor: who.name };
      request.credential = entry
        ? { kind: 'key', fingerprint: keyFingerprint(presented!) }
        : { kind: 'session', fingerprint: session!.key, expires: session!.expires };
      return this.authorised(context, request);
    }
    const tenant = header || this.env.ADSEED_DEFAULT_TENANT;
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(tenant)) {
      throw new ApiError(400, 'validation_failed', 'invalid tenant id', [
        { field: 'x-tenant-id', reason: 'must be 1-63 lower-case letters, digits or dashes' },
      ]);
    }
    request.tenant = tenant;
    request.principal = { tenant, role: 'admin', actor: 'local' };
    request.credential = { kind: 'none' };
    return this.authorised(context, request);
  }

  private authorised(context: ExecutionContext, request: TenantRequest): boolean {
    const least = this.reflector.getAllAndOverride<Role | undefined>(ROLES_KEY, [context.getHandler(), context.getClass()]);
    if (least && request.principal && !hasRole(request.principal, least)) {
      throw new ApiError(403, 'forbidden', `this needs the ${least} role; this key is a ${request.principal.role}`, [
        { field: 'authorization', reason: `role ${least} required` },
      ]);
    }
    return true;
  }

  /**
   * Who a call counts against for rate limiting: the API key (hashed: keys never sit in memory
   * twice or reach a log) or, without keys, the tenant. Undefined when the call will be refused.
   */
  rateLimitKey(request: Request): string | undefined {
    if (this.env.ADSEED_API_KEYS.size > 0) {
      const presented = this.bearer(request);
      if (presented === undefined) {
        const session = this.session(request);
        return session ? `key:${session.key}` : undefined;
      }
      return this.lookup(presented) ? `key:${keyFingerprint(presented)}` : undefined;
    }
    const tenant = request.header('x-tenant-id')?.trim().toLowerCase() || this.env.ADSEED_DEFAULT_TENANT;
    return /^[a-z0-9][a-z0-9-]{0,62}$/.test(tenant) ? `tenant:${tenant}` : undefined;
  }

  /** The bearer key, or undefined when no Authorization header was sent. */
  private bearer(request: Request): string | undefined {
    const header = request.header('authorization');
    if (header === undefined) return undefined;
    return /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim() ?? '';
  }

  /** A valid session cookie on a read, else undefined. */
  private session(request: Request): Session | undefined {
    if (!COOKIE_METHODS.has(request.method)) return undefined;
    const token = readCookie(request.header('cookie'), SESSION_COOKIE);
    return token ? this.sessions.verify(token) : undefined;
  }

  private lookup(presented: string): ApiKeyEntry | undefined {
    let found: ApiKeyEntry | undefined;
    for (const [key, entry] of this.env.ADSEED_API_KEYS) {
      const a = Buffer.from(key);
      const b = Buffer.from(presented);
      if (a.length === b.length && timingSafeEqual(a, b)) found = entry;
    }
    return found;
  }
}

export const Tenant = createParamDecorator((_: unknown, context: ExecutionContext): string => {
  const tenant = context.switchToHttp().getRequest<TenantRequest>().tenant;
  if (!tenant) throw new Error('TenantGuard did not run');
  return tenant;
});
