import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { CircuitBreaker, CircuitOpenError } from './circuit-breaker';

class ManualClock {
  time = 1_000;
  readonly now = (): number => this.time;
  advance(ms: number): void {
    this.time += ms;
  }
}

const boom = (): Promise<never> => Promise.reject(new Error('boom'));
const ok = (): Promise<string> => Promise.resolve('ok');

async function failTimes(breaker: CircuitBreaker, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await assert.rejects(breaker.run(boom), /boom/);
}

describe(CircuitBreaker.name, () => {
  it('stays closed below the threshold and resets the count on success', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 1000, now: new ManualClock().now });
    await failTimes(breaker, 2);
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.consecutiveFailures, 2);
    assert.equal(await breaker.run(ok), 'ok');
    assert.equal(breaker.consecutiveFailures, 0);
    await failTimes(breaker, 2);
    assert.equal(breaker.state, 'closed');
  });

  it('opens after N consecutive failures and then fails fast without calling the operation', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 1000, now: clock.now });
    await failTimes(breaker, 3);
    assert.equal(breaker.state, 'open');
    clock.advance(400);
    let called = false;
    const error = await breaker
      .run(async () => {
        called = true;
        return 'x';
      })
      .then(
        () => assert.fail('expected CircuitOpenError'),
        (e: unknown) => e,
      );
    assert.ok(error instanceof CircuitOpenError);
    assert.equal(called, false);
    assert.equal(error.consecutiveFailures, 3);
    assert.equal(error.retryAfterMs, 600);
  });

  it('half-opens after the cooldown, lets one trial through and closes on its success', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 2, cooldownMs: 1000, now: clock.now });
    await failTimes(breaker, 2);
    clock.advance(1000);
    assert.equal(breaker.state, 'half-open');

    let release: (value: string) => void = () => undefined;
    const trial = breaker.run(() => new Promise<string>((resolve) => (release = resolve)));
    // A second caller during the trial is refused rather than piling onto a shaky dependency.
    await assert.rejects(breaker.run(ok), (e: unknown) => e instanceof CircuitOpenError && e.retryAfterMs === 0);
    release('recovered');
    assert.equal(await trial, 'recovered');
    assert.equal(breaker.state, 'closed');
    assert.equal(await breaker.run(ok), 'ok');
  });

  it('re-opens for a full cooldown when the trial fails', async () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ failureThreshold: 2, cooldownMs: 1000, now: clock.now });
    await failTimes(breaker, 2);
    clock.advance(1500);
    await assert.rejects(breaker.run(boom), /boom/);
    assert.equal(breaker.state, 'open');
    clock.advance(999);
    await assert.rejects(breaker.run(ok), CircuitOpenError);
    clock.advance(1);
    assert.equal(await breaker.run(ok), 'ok');
    assert.equal(breaker.state, 'closed');
  });

  it('does not count errors the caller classifies as not being outages', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 1000, now: new ManualClock().now });
    const isOutage = (e: unknown): boolean => e instanceof Error && e.message === 'outage';
    await assert.rejects(breaker.run(() => Promise.reject(new Error('bad input')), isOutage), /bad input/);
    assert.equal(breaker.state, 'closed');
    await assert.rejects(breaker.run(() => Promise.reject(new Error('outage')), isOutage), /outage/);
    assert.equal(breaker.state, 'open');
  });

  it('rejects nonsensical settings', () => {
    assert.throws(() => new CircuitBreaker({ failureThreshold: 0, cooldownMs: 1 }), RangeError);
    assert.throws(() => new CircuitBreaker({ failureThreshold: 1, cooldownMs: Number.NaN }), RangeError);
  });
});
