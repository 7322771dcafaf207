import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineRoute, defineTopic } from '@adseed/contracts';
import { Logger } from '@adseed/telemetry';
import { z } from 'zod';
import { H, PermanentError, RequestTimeoutError, ServiceError } from './event-bus.port';
import { InProcessBroker } from './in-process.broker';
import { InProcessEventBus } from './in-process.bus';

const Thing = defineTopic('test.thing.happened.v1', z.object({ id: z.string(), n: z.number().int() }), 4);
const Double = defineRoute('test.math.double-requested.v1', z.object({ n: z.number() }), z.object({ doubled: z.number() }));
const quiet = new Logger({ service: 'test', level: 'error', sink: () => undefined });

function setup() {
  const broker = new InProcessBroker();
  const bus = (source: string) =>
    new InProcessEventBus({ source, broker, logger: quiet, retry: { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 2 } });
  return { broker, bus };
}

describe(InProcessEventBus.name, () => {
  it('delivers every message to every group once, in key order, with CloudEvents headers', async () => {
    const { broker, bus } = setup();
    const producer = bus('producer');
    const seen: Record<string, string[]> = { a: [], b: [] };
    for (const group of ['a', 'b'] as const) {
      await bus(`consumer-${group}`).subscribe(Thing, { group }, async (m) => {
        seen[group].push(`${m.key}:${m.value.n}`);
        assert.equal(m.headers[H.source], 'producer');
        assert.ok(m.headers[H.id]);
      });
    }
    for (let n = 0; n < 20; n++) await producer.publish(Thing, { key: `k${n % 3}`, value: { id: `k${n % 3}`, n } });
    await broker.whenIdle();
    for (const group of ['a', 'b']) {
      assert.equal(seen[group].length, 20);
      for (const key of ['k0', 'k1', 'k2']) {
        const ns = seen[group].filter((s) => s.startsWith(`${key}:`)).map((s) => Number(s.split(':')[1]));
        assert.deepEqual(ns, [...ns].sort((x, y) => x - y), `order kept for ${key} in ${group}`);
      }
    }
  });

  it('refuses to publish an invalid payload', async () => {
    const { bus } = setup();
    await assert.rejects(bus('p').publish(Thing, { key: 'x', value: { id: 'x', n: 1.5 } }), /refusing to publish an invalid test.thing.happened.v1: n/);
  });

  it('retries a failing handler with back-off and commits only after success', async () => {
    const { broker, bus } = setup();
    let calls = 0;
    await bus('c').subscribe(Thing, { group: 'g' }, async (m) => {
      calls++;
      if (m.attempt < 3) throw new Error('transient');
    });
    await bus('p').publish(Thing, { key: 'x', value: { id: 'x', n: 1 } });
    await broker.whenIdle();
    assert.equal(calls, 3);
    assert.equal(broker.read('test.thing.happened.v1.dlt').length, 0);
    assert.equal(broker.lag('test.thing.happened.v1', 'g'), 0);
  });

  it('dead-letters poison messages with the reason and keeps consuming', async () => {
    const { broker, bus } = setup();
    const handled: number[] = [];
    await bus('c').subscribe(Thing, { group: 'g' }, async (m) => {
      if (m.value.n === 2) throw new Error('always fails');
      if (m.value.n === 3) throw new PermanentError('cannot ever work');
      handled.push(m.value.n);
    });
    const producer = bus('p');
    await producer.publishRaw(Thing.name, { key: 'x', value: '{not json' });
    await producer.publishRaw(Thing.name, { key: 'x', value: JSON.stringify({ id: 'x', n: 'one' }) });
    for (const n of [1, 2, 3, 4]) await producer.publish(Thing, { key: 'x', value: { id: 'x', n } });
    await broker.whenIdle();
    assert.deepEqual(handled, [1, 4]);
    const dlt = broker.read('test.thing.happened.v1.dlt');
    assert.deepEqual(dlt.map((m) => m.headers[H.errorKind]), ['validation', 'validation', 'exhausted', 'permanent']);
    assert.match(dlt[0].headers[H.error], /not JSON/);
    assert.match(dlt[1].headers[H.error], /n: /);
    assert.equal(dlt[2].headers[H.attempts], '3');
    assert.equal(dlt[3].headers[H.originalTopic], Thing.name);
    assert.equal(dlt[0].value, '{not json', 'the original bytes are kept for replay');
  });

  it('answers requests, carries service errors back, and times out', async () => {
    const { bus } = setup();
    await bus('server').respond(Double, { group: 'math' }, async (m) => {
      if (m.value.n < 0) throw new ServiceError(400, 'negative', 'n must be >= 0', [{ field: 'n', reason: 'negative' }]);
      return { doubled: m.value.n * 2 };
    });
    const client = bus('client');
    assert.deepEqual(await client.request(Double, { key: 'r', value: { n: 21 } }), { doubled: 42 });
    await assert.rejects(client.request(Double, { key: 'r', value: { n: -1 } }), (e: unknown) => e instanceof ServiceError && e.status === 400 && e.issues?.[0].field === 'n');
    const NoOne = defineRoute('test.nobody.answer-requested.v1', z.object({}), z.object({}));
    await assert.rejects(client.request(NoOne, { key: 'r', value: {} }, { timeoutMs: 30 }), RequestTimeoutError);
  });
});
