import type { OnApplicationShutdown } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';

interface Bucket {
  tokens: number;
  at: number;
  limit: number;
  msPerToken: number;
}

/**
 * A token bucket per key behind @nestjs/throttler's storage interface: the throttler's `limit` is
 * the bucket size (the burst) and `ttl` (ms) the time to refill it from empty, so the sustained
 * rate is limit / ttl. The library's own storage is a sliding log, under which a caller who used
 * its burst waits a whole window; here one token comes back every ttl / limit ms.
 * In memory, per gateway replica.
 */
export class TokenBucketStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly buckets = new Map<string, Bucket>();
  private readonly sweep: NodeJS.Timeout;

  constructor(
    private readonly now: () => number = Date.now,
    sweepIntervalMs = 60_000,
  ) {
    // A full bucket is the same as none: forget those, so idle keys cost no memory.
    this.sweep = setInterval(() => this.forgetFull(), sweepIntervalMs);
    this.sweep.unref();
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
  ): Promise<{ totalHits: number; timeToExpire: number; isBlocked: boolean; timeToBlockExpire: number }> {
    const msPerToken = ttl / limit;
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: limit, at: now, limit, msPerToken };
    bucket.tokens = Math.min(limit, bucket.tokens + (now - bucket.at) / msPerToken);
    Object.assign(bucket, { at: now, limit, msPerToken });
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    this.buckets.set(key, bucket);
    return {
      totalHits: limit - Math.floor(bucket.tokens),
      timeToExpire: Math.ceil(((limit - bucket.tokens) * msPerToken) / 1000),
      isBlocked: !allowed,
      // Whole seconds for Retry-After, never 0: the next token may be milliseconds away.
      timeToBlockExpire: allowed ? 0 : Math.max(1, Math.ceil(((1 - bucket.tokens) * msPerToken) / 1000)),
    };
  }

  /** Keys currently tracked (for tests and metrics). */
  get size(): number {
    return this.buckets.size;
  }

  forgetFull(): void {
    const now = this.now();
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.at) / bucket.msPerToken >= bucket.limit) this.buckets.delete(key);
    }
  }

  onApplicationShutdown(): void {
    clearInterval(this.sweep);
    this.buckets.clear();
  }
}
