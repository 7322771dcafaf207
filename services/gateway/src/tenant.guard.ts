import { createParamDecorator, Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { GATEWAY_ENV, type GatewayEnv } from './gateway.env';
import { ApiError } from './http-errors';

type TenantRequest = Request & { tenant?: string };

/**
 * Access is per tenant. With API keys configured, the bearer key decides the tenant and the
 * `X-Tenant-Id` header cannot widen it; without keys (the embedded demo), the header selects
 * the tenant, defaulting to `ADSEED_DEFAULT_TENANT`.
 */
@Injectable()
export class TenantGuard implements CanActivate {
  constructor(@Inject(GATEWAY_ENV) private readonly env: GatewayEnv) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<TenantRequest>();
    const header = request.header('x-tenant-id')?.trim().toLowerCase();
    if (this.env.ADSEED_API_KEYS.size > 0) {
      const presented = /^Bearer\s+(.+)$/i.exec(request.header('authorization') ?? '')?.[1]?.trim();
      const tenant = presented ? this.lookup(presented) : undefined;
      if (!tenant) throw new ApiError(401, 'unauthorized', 'send a valid API key as `Authorization: Bearer <key>`', [{ field: 'authorization', reason: presented ? 'unknown key' : 'missing' }]);
      if (header && header !== tenant) throw new ApiError(403, 'forbidden', `this key belongs to another tenant than ${header}`, [{ field: 'x-tenant-id', reason: 'does not match the key' }]);
      request.tenant = tenant;
      return true;
    }
    const tenant = header || this.env.ADSEED_DEFAULT_TENANT;
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(tenant)) {
      throw new ApiError(400, 'validation_failed', 'invalid tenant id', [{ field: 'x-tenant-id', reason: 'must be 1-63 lower-case letters, digits or dashes' }]);
    }
    request.tenant = tenant;
    return true;
  }

  /**
   * Who a call counts against for rate limiting: the API key (hashed: keys never sit in memory
   * twice or reach a log) or, without keys, the tenant. Undefined when the call will be refused.
   */
  rateLimitKey(request: Request): string | undefined {
    if (this.env.ADSEED_API_KEYS.size > 0) {
      const presented = /^Bearer\s+(.+)$/i.exec(request.header('authorization') ?? '')?.[1]?.trim();
      return presented && this.lookup(presented) ? `key:${createHash('sha256').update(presented).digest('hex').slice(0, 32)}` : undefined;
    }
    const tenant = request.header('x-tenant-id')?.trim().toLowerCase() || this.env.ADSEED_DEFAULT_TENANT;
    return /^[a-z0-9][a-z0-9-]{0,62}$/.test(tenant) ? `tenant:${tenant}` : undefined;
  }

  private lookup(presented: string): string | undefined {
    for (const [key, tenant] of this.env.ADSEED_API_KEYS) {
      const a = Buffer.from(key);
      const b = Buffer.from(presented);
      if (a.length === b.length && timingSafeEqual(a, b)) return tenant;
    }
    return undefined;
  }
}

export const Tenant = createParamDecorator((_: unknown, context: ExecutionContext): string => {
  const tenant = context.switchToHttp().getRequest<TenantRequest>().tenant;
  if (!tenant) throw new Error('TenantGuard did not run');
  return tenant;
});
