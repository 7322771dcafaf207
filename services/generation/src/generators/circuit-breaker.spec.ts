import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';

import { CircuitBreaker, CircuitOpenError } from './circuit-breaker';

const boom = (): Promise<never> => Promise.reject(new Error('boom'));
const ok = (): Promise<string> => Promise.resolve('ok');

async function failTimes(breaker: CircuitBreaker, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await assert.rejects(breaker.run(boom), /boom/);
}

describe(CircuitBreaker.name, () => {
  // The breaker reads `Date.now()` (cockatiel's clock): only Date is mocked, timers stay real.
  beforeEach(() => mock.timers.enable({ apis: ['Date'], now: 1_000 }));
  afterEach(() => mock.timers.reset());

  it('stays closed below the threshold and resets the count on success', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 1000 });
    await failTimes(breaker, 2);
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.consecutiveFailures, 2);
    assert.equal(await breaker.run(ok), 'ok');
    assert.equal(breaker.consecutiveFailures, 0);
    await failTimes(breaker, 2);
    assert.equal(breaker.state, 'closed');
  });

  it('opens after N consecutive failures and then fails fast without calling the operation', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 1000 });
    await failTimes(breaker, 3);
    assert.equal(breaker.state, 'open');
    mock.timers.tick(400);
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
    const breaker = new CircuitBreaker({ failureThreshold: 2, cooldownMs: 1000 });
    await failTimes(breaker, 2);
    mock.timers.tick(1000);
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
    const breaker = new CircuitBreaker({ failureThreshold: 2, cooldownMs: 1000 });
    await failTimes(breaker, 2);
    mock.timers.tick(1500);
    await assert.rejects(breaker.run(boom), /boom/);
    assert.equal(breaker.state, 'open');
    mock.timers.tick(999);
    await assert.rejects(breaker.run(ok), CircuitOpenError);
    mock.timers.tick(1);
    assert.equal(await breaker.run(ok), 'ok');
    assert.equal(breaker.state, 'closed');
  });

  const isOutage = (e: unknown): boolean => e instanceof Error && e.message === 'outage';
  const outage = (): Promise<never> => Promise.reject(new Error('outage'));
  const badInput = (): Promise<never> => Promise.reject(new Error('bad input'));

  it('does not count errors the caller classifies as not being outages', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 1000, isFailure: isOutage });
    await assert.rejects(breaker.run(badInput), /bad input/);
    assert.equal(breaker.state, 'closed');
    await assert.rejects(breaker.run(outage), /outage/);
    assert.equal(breaker.state, 'open');
  });

  it('closes, with the count reset, when the trial ends in an error that is not an outage', async () => {
    const breaker = new CircuitBreaker({ failureThreshold: 2, cooldownMs: 1000, isFailure: isOutage });
    for (let i = 0; i < 2; i++) await assert.rejects(breaker.run(outage), /outage/);
    assert.equal(breaker.state, 'open');
    mock.timers.tick(1000);
    await assert.rejects(breaker.run(badInput), /bad input/);
    assert.equal(breaker.state, 'closed');
    assert.equal(breaker.consecutiveFailures, 0);
    await assert.rejects(breaker.run(outage), /outage/);
    assert.equal(breaker.state, 'closed', 'one outage after the reset is below the threshold again');
  });

  it('rejects nonsensical settings', () => {
    assert.throws(() => new CircuitBreaker({ failureThreshold: 0, cooldownMs: 1 }), RangeError);
    assert.throws(() => new CircuitBreaker({ failureThreshold: 1, cooldownMs: Number.NaN }), RangeError);
  });
});
