export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long the circuit stays open before one trial call is let through. */
  cooldownMs: number;
  /** Milliseconds since any fixed origin; injectable so tests can move time without waiting. */
  now?: () => number;
}

/** Thrown instead of calling the protected operation while the circuit is open. */
export class CircuitOpenError extends Error {
  constructor(
    readonly consecutiveFailures: number,
    /** When a trial call will next be allowed, 0 when one is already running. */
    readonly retryAfterMs: number,
  ) {
    super(
      retryAfterMs > 0
        ? `circuit open after ${consecutiveFailures} consecutive failures; next attempt allowed in ${Math.ceil(retryAfterMs)} ms`
        : `circuit half-open after ${consecutiveFailures} consecutive failures; a trial call is already running`,
    );
    this.name = new.target.name;
  }
}

/**
 * Classic three-state breaker. Closed: calls go through and consecutive failures are counted.
 * Open: calls fail at once with `CircuitOpenError` until `cooldownMs` has passed. Half-open:
 * exactly one trial call goes through; its success closes the circuit, its failure re-opens it
 * for another cooldown. Only errors the caller classifies as failures count, so a request the
 * remote side rightly refuses (bad input) does not take the dependency offline for everyone.
 */
export class CircuitBreaker {
  private readonly failureThreshold: number;
  private readonly cooldownMs: number;
  private readonly now: () => number;
  private current: CircuitState = 'closed';
  private failures = 0;
  private openedAt = 0;
  private trialRunning = false;

  constructor(options: CircuitBreakerOptions) {
    if (!Number.isInteger(options.failureThreshold) || options.failureThreshold < 1) {
      throw new RangeError(`failureThreshold must be an integer ≥ 1, got ${options.failureThreshold}`);
    }
    if (!(options.cooldownMs >= 0)) throw new RangeError(`cooldownMs must be ≥ 0, got ${options.cooldownMs}`);
    this.failureThreshold = options.failureThreshold;
    this.cooldownMs = options.cooldownMs;
    this.now = options.now ?? (() => performance.now());
  }

  /** The state a call made now would see (an expired open circuit reads as half-open). */
  get state(): CircuitState {
    if (this.current === 'open' && this.now() - this.openedAt >= this.cooldownMs) return 'half-open';
    return this.current;
  }

  get consecutiveFailures(): number {
    return this.failures;
  }

  /**
   * Runs `operation` unless the circuit is open. `isFailure` decides whether a thrown error
   * counts against the dependency (default: every error does).
   */
  async run<T>(operation: () => Promise<T>, isFailure: (error: unknown) => boolean = () => true): Promise<T> {
    const state = this.state;
    if (state === 'open') throw new CircuitOpenError(this.failures, this.cooldownMs - (this.now() - this.openedAt));
    const trial = state === 'half-open';
    if (trial) {
      if (this.trialRunning) throw new CircuitOpenError(this.failures, 0);
      this.current = 'half-open';
      this.trialRunning = true;
    }
    try {
      const result = await operation();
      this.onSuccess();
      return result;
    } catch (error) {
      if (isFailure(error)) this.onFailure(trial);
      else if (trial) this.onSuccess(); // the dependency answered; the error is about the request
      throw error;
    } finally {
      if (trial) this.trialRunning = false;
    }
  }

  private onSuccess(): void {
    this.current = 'closed';
    this.failures = 0;
  }

  private onFailure(trial: boolean): void {
    this.failures += 1;
    if (trial || this.failures >= this.failureThreshold) {
      this.current = 'open';
      this.openedAt = this.now();
    }
  }
}
