import { BrokenCircuitError, circuitBreaker, CircuitState as PolicyState, ConsecutiveBreaker, handleWhen, type CircuitBreakerPolicy } from 'cockatiel';

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long the circuit stays open before one trial call is let through. */
  cooldownMs: number;
  /** Whether a thrown error counts against the dependency (default: every error does). */
  isFailure?: (error: unknown) => boolean;
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
 * cockatiel's three-state breaker (closed → open after `failureThreshold` consecutive failures →
 * one trial call after `cooldownMs` → closed on its success, open for another cooldown on its
 * failure), with what callers here need on top: the state a call made now would see, the count
 * and the wait for the error message, a caller arriving during the trial refused at once
 * (cockatiel would queue it behind the trial), and a trial that ends in an error that is not a
 * failure (the dependency answered; the request was at fault) closing with the count reset.
 * Time is `Date.now()`, cockatiel's clock.
 */
export class CircuitBreaker {
  private readonly policy: CircuitBreakerPolicy;
  private readonly counter: ConsecutiveBreaker;
  private readonly cooldownMs: number;
  private openedAt = 0;

  constructor(options: CircuitBreakerOptions) {
    if (!Number.isInteger(options.failureThreshold) || options.failureThreshold < 1) {
      throw new RangeError(`failureThreshold must be an integer ≥ 1, got ${options.failureThreshold}`);
    }
    if (!(options.cooldownMs >= 0)) throw new RangeError(`cooldownMs must be ≥ 0, got ${options.cooldownMs}`);
    this.cooldownMs = options.cooldownMs;
    this.counter = new ConsecutiveBreaker(options.failureThreshold);
    this.policy = circuitBreaker(handleWhen(options.isFailure ?? (() => true)), { halfOpenAfter: options.cooldownMs, breaker: this.counter });
    this.policy.onBreak(() => (this.openedAt = Date.now()));
    this.policy.onReset(() => this.counter.success());
  }

  /** The state a call made now would see (an expired open circuit reads as half-open). */
  get state(): CircuitState {
    if (this.policy.state === PolicyState.Closed) return 'closed';
    if (this.policy.state === PolicyState.HalfOpen) return 'half-open';
    return Date.now() - this.openedAt >= this.cooldownMs ? 'half-open' : 'open';
  }

  get consecutiveFailures(): number {
    return this.counter.state;
  }

  /** Runs `operation` unless the circuit is open (then throws `CircuitOpenError` without calling it). */
  async run<T>(operation: () => Promise<T>): Promise<T> {
    if (this.policy.state === PolicyState.HalfOpen) throw new CircuitOpenError(this.consecutiveFailures, 0);
    try {
      return await this.policy.execute(operation);
    } catch (error) {
      if (error instanceof BrokenCircuitError) throw new CircuitOpenError(this.consecutiveFailures, this.cooldownMs - (Date.now() - this.openedAt));
      throw error;
    }
  }
}
