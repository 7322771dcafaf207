import { SERVICE_CONFIG } from '@adseed/platform';
import { Inject, Injectable, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  type ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
  type ThrottlerOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { Request } from 'express';
import type { GatewayEnv } from './gateway.env';
import { ApiError } from './http-errors';
import { TenantGuard } from './tenant.guard';

/** The throttler settings for the gateway's env: one token bucket per caller (see TokenBucketStorage). */
export function rateLimitThrottlers(env: GatewayEnv): ThrottlerOptions[] {
  const rate = env.ADSEED_RATE_LIMIT_PER_SECOND;
  const burst = env.ADSEED_RATE_LIMIT_BURST;
  return [{ name: 'default', limit: burst, ttl: rate > 0 ? Math.max(1, Math.round((burst / rate) * 1000)) : 1 }];
}

/**
 * Rate limit on `/v1`: per API key when keys are configured, per tenant without them (the demo),
 * and per client address for calls with a missing or unknown key (so a flood of bad keys is
 * limited too). Health, metrics, `/docs` and the web UI's files are never limited. A refused call
 * gets `429 rate_limited` with `Retry-After` in seconds.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly tenants: TenantGuard,
    @Inject(SERVICE_CONFIG) private readonly env: GatewayEnv,
  ) {
    super(options, storage, reflector);
  }

  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    if (this.env.ADSEED_RATE_LIMIT_PER_SECOND === 0 || context.getType() !== 'http') return true;
    const path = context.switchToHttp().getRequest<Request>().path;
    return path !== '/v1' && !path.startsWith('/v1/');
  }

  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    return this.tenants.rateLimitKey(request as unknown as Request) ?? `ip:${(request as unknown as Request).ip ?? 'unknown'}`;
  }

  /** One bucket per caller across all routes (the library's default is one per route). */
  protected override generateKey(_context: ExecutionContext, tracker: string, throttler: string): string {
    return `${throttler}:${tracker}`;
  }

  protected override async throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    const byKey = detail.tracker.startsWith('key:');
    throw new ApiError(
      429,
      'rate_limited',
      `too many requests: at most ${this.env.ADSEED_RATE_LIMIT_PER_SECOND}/s with bursts of ${this.env.ADSEED_RATE_LIMIT_BURST} per ${byKey ? 'API key' : detail.tracker.startsWith('tenant:') ? 'tenant' : 'client'}; retry after ${detail.timeToBlockExpire} s (Retry-After)`,
      [{ field: byKey ? 'authorization' : 'x-tenant-id', reason: 'rate limited' }],
    );
  }
}
