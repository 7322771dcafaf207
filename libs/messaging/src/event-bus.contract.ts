import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { defineTopic } from '@adseed/contracts';
import { z } from 'zod';
import { H, PermanentError, type EventBus, type Headers } from './event-bus.port';

export interface EventBusHarness {
  /** A client of the shared broker for one service. */
  bus(source: string): EventBus;
  /** Every message on a topic so far (for reading dead letters), in offset order per partition. */
  read(topic: string): Promise<{ key: string; value: string; headers: Headers }[]>;
  cleanup(): Promise<void>;
}

/** Letters only, so it fits a versioned topic name: each run gets fresh topics on a shared broker. */
const runId = () => Array.from(randomBytes(8), (b) => String.fromCharCode(97 + (b % 26))).join('');

async function until(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * What every event-bus adapter promises, run against the in-process broker and against a real
 * Kafka broker: per-key order, one delivery per consumer group, validation on both ends, retries,
 * dead letters with the reason, a consumer window, and a stop that finishes the message in hand
 * and takes no more.
 */
export function describeEventBusContract(name: string, factory: () => Promise<EventBusHarness>): void {
  describe(`EventBus contract: ${name}`, () => {
    let harness: EventBusHarness;
    const clients: EventBus[] = [];
    const bus = (source: string) => {
      const client = harness.bus(source);
      clients.push(client);
      return client;
    };
    const topicOf = () => defineTopic(`test.thing-${runId()}.happened.v1`, z.object({ id: z.string(), n: z.number().int() }), 4);

    before(async () => {
      harness = await factory();
    });
    after(async () => {
      for (const client of clients) await client.close();
      await harness?.cleanup();
    });

    it('delivers every message to every group once, in key order, with CloudEvents headers', async () => {
      const Thing = topicOf();
      const producer = bus('producer');
      await producer.ensureTopics([Thing]);
      const seen: Record<string, string[]> = { a: [], b: [] };
      for (const group of ['a', 'b'] as const) {
        await bus(`consumer-${group}`).subscribe(Thing, { group: `${group}-${runId()}` }, async (m) => {
          seen[group].push(`${m.key}:${m.value.n}`);
          assert.equal(m.headers[H.source], 'producer');
          assert.ok(m.headers[H.id]);
          assert.equal(m.headers[H.type], Thing.name);
        });
      }
      for (let n = 0; n < 20; n++) await producer.publish(Thing, { key: `k${n % 3}`, value: { id: `k${n % 3}`, n } });
      await until('both groups saw 20 messages', () => seen.a.length >= 20 && seen.b.length >= 20);
      await new Promise((r) => setTimeout(r, 300));
      for (const group of ['a', 'b']) {
        assert.equal(seen[group].length, 20, `group ${group} saw each message once`);
        for (const key of ['k0', 'k1', 'k2']) {
          const ns = seen[group].filter((s) => s.startsWith(`${key}:`)).map((s) => Number(s.split(':')[1]));
          assert.deepEqual(
            ns,
            [...ns].sort((x, y) => x - y),
            `order kept for ${key} in ${group}`,
          );
        }
      }
    });

    it('with a concurrency window, still handles each message once and a key one message at a time, in order', async () => {
      const Thing = topicOf();
      const producer = bus('producer');
      await producer.ensureTopics([Thing]);
      const seen: string[] = [];
      const active = new Set<string>();
      const overlaps: string[] = [];
      await bus('consumer-window').subscribe(Thing, { group: `w-${runId()}`, concurrency: 8 }, async (m) => {
        if (active.has(m.key)) overlaps.push(`${m.key}:${m.value.n}`);
        active.add(m.key);
        await new Promise((r) => setImmediate(r)); // let other messages in while this one is handled
        seen.push(`${m.key}:${m.value.n}`);
        active.delete(m.key);
      });
      for (let n = 0; n < 30; n++) await producer.publish(Thing, { key: `k${n % 5}`, value: { id: `k${n % 5}`, n } });
      await until('30 messages handled', () => seen.length >= 30);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(seen.length, 30, 'each message once');
      assert.deepEqual(overlaps, [], 'no key handled twice at once');
      for (let k = 0; k < 5; k++) {
        const ns = seen.filter((s) => s.startsWith(`k${k}:`)).map((s) => Number(s.split(':')[1]));
        assert.deepEqual(
          ns,
          [...ns].sort((x, y) => x - y),
          `order kept for k${k}`,
        );
      }
    });

    it('stopConsuming finishes and commits the message in hand, takes no more, and still publishes', async () => {
      const Thing = defineTopic(`test.stopping-${runId()}.happened.v1`, z.object({ id: z.string(), n: z.number().int() }), 1);
      const group = `stopping-${runId()}`;
      const stopped = bus('stopping');
      await stopped.ensureTopics([Thing]);
      const handled: number[] = [];
      const later: number[] = [];
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let started!: () => void;
      const inHand = new Promise<void>((resolve) => (started = resolve));
      try {
        await stopped.subscribe(Thing, { group }, async (m) => {
          started();
          await gate;
          handled.push(m.value.n);
        });
        await stopped.publish(Thing, { key: 'k', value: { id: 'k', n: 1 } });
        await inHand;
        let resolved = false;
        const stopping = stopped.stopConsuming().then(() => void (resolved = true));
        await stopped.publish(Thing, { key: 'k', value: { id: 'k', n: 2 } });
        await new Promise((r) => setTimeout(r, 200));
        assert.deepEqual(handled, [], 'the message in hand is still being handled');
        assert.equal(resolved, false, 'stopConsuming waits for the message in hand');
        release();
        await stopping;
        assert.deepEqual(handled, [1], 'the message in hand finished before stopConsuming resolved');
        await new Promise((r) => setTimeout(r, 1_000));
        assert.deepEqual(handled, [1], 'nothing was taken after the stop');
        // A subscription made on the stopped bus takes nothing either.
        const afterStop: number[] = [];
        await stopped.subscribe(Thing, { group }, async (m) => void afterStop.push(m.value.n));
        await new Promise((r) => setTimeout(r, 500));
        assert.deepEqual(afterStop, [], 'a subscription after the stop took nothing');
        // The group's next member starts after the committed message 1, at message 2.
        await bus('next').subscribe(Thing, { group }, async (m) => void later.push(m.value.n));
        await until('the next member got message 2', () => later.length > 0, 30_000);
        assert.deepEqual(later, [2]);
      } finally {
        release();
      }
    });

    it('refuses to publish an invalid payload', async () => {
      const Thing = topicOf();
      await assert.rejects(
        bus('p').publish(Thing, { key: 'x', value: { id: 'x', n: 1.5 } }),
        /refusing to publish an invalid test\.thing-[a-z]+\.happened\.v1: n/,
      );
    });

    it('retries a failing handler with back-off until it succeeds', async () => {
      const Thing = topicOf();
      const producer = bus('p');
      await producer.ensureTopics([Thing]);
      const attempts: number[] = [];
      await bus('c').subscribe(Thing, { group: `g-${runId()}` }, async (m) => {
        attempts.push(m.attempt);
        if (m.attempt < 3) throw new Error('transient');
      });
      await producer.publish(Thing, { key: 'x', value: { id: 'x', n: 1 } });
      await until('three attempts', () => attempts.length >= 3);
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(attempts, [1, 2, 3]);
      assert.equal((await harness.read(`${Thing.name}.dlt`)).length, 0);
    });

    it('dead-letters poison messages with the reason, keeps the original bytes, and keeps consuming', async () => {
      const Thing = topicOf();
      const producer = bus('p');
      await producer.ensureTopics([Thing]);
      const handled: number[] = [];
      await bus('c').subscribe(Thing, { group: `g-${runId()}` }, async (m) => {
        if (m.value.n === 2) throw new Error('always fails');
        if (m.value.n === 3) throw new PermanentError('cannot ever work');
        handled.push(m.value.n);
      });
      await producer.publishRaw(Thing.name, { key: 'x', value: '{not json' });
      await producer.publishRaw(Thing.name, { key: 'x', value: JSON.stringify({ id: 'x', n: 'one' }) });
      for (const n of [1, 2, 3, 4]) await producer.publish(Thing, { key: 'x', value: { id: 'x', n } });
      await until('the valid messages after the poison ones', () => handled.includes(4));
      const dlt = `${Thing.name}.dlt`;
      await until('four dead letters', async () => (await harness.read(dlt)).length >= 4);
      const dead = await harness.read(dlt);
      assert.deepEqual(handled, [1, 4]);
      assert.deepEqual(
        dead.map((m) => m.headers[H.errorKind]),
        ['validation', 'validation', 'exhausted', 'permanent'],
      );
      assert.match(dead[0].headers[H.error], /not JSON/);
      assert.match(dead[1].headers[H.error], /n: /);
      assert.equal(dead[3].headers[H.originalTopic], Thing.name);
      assert.equal(dead[0].value, '{not json');
    });
  });
}
