import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { defineTopic } from '@adseed/contracts';
import { Logger, ServiceMetrics } from '@adseed/telemetry';
import { z } from 'zod';

import { deliver, type DeliveryContext, type RawDelivery } from './delivery';
import { encode } from './envelope';
import { H, PermanentError, type Headers } from './event-bus.port';

const Thing = defineTopic('test.delivery-thing.happened.v1', z.object({ id: z.string() }), 1);

function raw(value = encode(Thing, { id: 'x' })): RawDelivery {
  return { topic: Thing.name, partition: 0, offset: 7, key: 'x', value, headers: { [H.id]: 'm-1' } };
}

/** A delivery context whose logs, metrics and dead letters the test can read. */
function context(retry = { maxAttempts: 3, initialBackoffMs: 2, maxBackoffMs: 3 }) {
  const lines: Record<string, unknown>[] = [];
  const logger = new Logger({ service: 'test', level: 'warn', sink: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  const metrics = new ServiceMetrics('test');
  const dead: { topic: string; headers: Headers }[] = [];
  const ctx: DeliveryContext = {
    group: 'g',
    retry,
    logger,
    metrics,
    deadLetter: async (topic, message) => void dead.push({ topic, headers: message.headers }),
  };
  const count = async (outcome: string) => (await metrics.consumed.get()).values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
  return { ctx, lines, dead, count };
}

describe(deliver.name, () => {
  it('retries a failing handler, numbering the attempts, logging each retry with its back-off, until it succeeds', async () => {
    const { ctx, lines, dead, count } = context({ maxAttempts: 4, initialBackoffMs: 2, maxBackoffMs: 5 });
    const attempts: number[] = [];
    const outcome = await deliver(Thing, raw(), ctx, async (m) => {
      attempts.push(m.attempt);
      assert.deepEqual(m.value, { id: 'x' });
      if (m.attempt < 4) throw new Error(`transient ${m.attempt}`);
    });
    assert.equal(outcome, 'handled');
    assert.deepEqual(attempts, [1, 2, 3, 4]);
    const retries = lines.filter((l) => l.msg === 'handler failed, will retry');
    assert.deepEqual(
      retries.map((l) => [l.attempt, l.retryInMs, l.topic, l.key]),
      [
        [1, 2, Thing.name, 'x'],
        [2, 4, Thing.name, 'x'],
        [3, 5, Thing.name, 'x'],
      ],
    );
    assert.equal(await count('retry'), 3);
    assert.equal(await count('ok'), 1);
    assert.deepEqual(dead, []);
  });

  it('dead-letters as exhausted after maxAttempts, with the last reason and the attempts', async () => {
    const { ctx, dead, count } = context();
    let calls = 0;
    const outcome = await deliver(Thing, raw(), ctx, async () => {
      calls++;
      throw new Error(`still failing (${calls})`);
    });
    assert.equal(outcome, 'dead-lettered');
    assert.equal(calls, 3);
    assert.equal(dead.length, 1);
    assert.equal(dead[0].topic, `${Thing.name}.dlt`);
    assert.equal(dead[0].headers[H.errorKind], 'exhausted');
    assert.equal(dead[0].headers[H.error], 'still failing (3)');
    assert.equal(dead[0].headers[H.attempts], '3');
    assert.equal(await count('retry'), 2);
    assert.equal(await count('dead-lettered'), 1);
  });

  it('dead-letters a PermanentError at once, without retrying', async () => {
    const { ctx, dead, lines } = context();
    let calls = 0;
    const outcome = await deliver(Thing, raw(), ctx, async () => {
      calls++;
      throw new PermanentError('cannot ever work');
    });
    assert.equal(outcome, 'dead-lettered');
    assert.equal(calls, 1);
    assert.deepEqual([dead[0].headers[H.errorKind], dead[0].headers[H.error], dead[0].headers[H.attempts]], ['permanent', 'cannot ever work', '1']);
    assert.equal(lines.filter((l) => l.msg === 'handler failed, will retry').length, 0);
  });

  it('dead-letters an invalid payload without calling the handler', async () => {
    const { ctx, dead } = context();
    let called = false;
    const outcome = await deliver(Thing, raw('{not json'), ctx, async () => {
      called = true;
    });
    assert.equal(outcome, 'dead-lettered');
    assert.equal(called, false);
    assert.equal(dead[0].headers[H.errorKind], 'validation');
  });

  it('with maxAttempts 1, dead-letters after the first failure', async () => {
    const { ctx, dead } = context({ maxAttempts: 1, initialBackoffMs: 1, maxBackoffMs: 1 });
    assert.equal(await deliver(Thing, raw(), ctx, () => Promise.reject(new Error('no'))), 'dead-lettered');
    assert.equal(dead[0].headers[H.attempts], '1');
  });
});
