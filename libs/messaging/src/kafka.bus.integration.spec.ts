import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defineTopic } from '@adseed/contracts';
import { Logger } from '@adseed/telemetry';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { z } from 'zod';
import { describeEventBusContract } from './event-bus.contract';
import type { Headers } from './event-bus.port';
import { kafkaGroupId, KafkaEventBus } from './kafka.bus';

/** Against the real single-node Kafka 3.9 broker that scripts/infra/kafka.sh starts. */
const BROKERS = (process.env.ADSEED_IT_KAFKA ?? `127.0.0.1:${process.env.ADSEED_KAFKA_PORT ?? 19092}`).split(',');
const quiet = new Logger({ service: 'test', level: 'error', sink: () => undefined });

/** A suite's run id (lower-case letters, valid in topic names) and an admin client connected for the suite. */
function suiteOnBroker(clientId: string): { run: string; admin: Admin } {
  const run = Array.from(randomBytes(8), (b) => String.fromCharCode(97 + (b % 26))).join('');
  const admin = new Kafka({ clientId, brokers: BROKERS, logLevel: logLevel.NOTHING }).admin();
  before(() => admin.connect());
  after(() => admin.disconnect());
  return { run, admin };
}

/** The offset a group has committed on a one-partition topic (-1: none). */
async function committedOffset(admin: Admin, group: string, topic: string): Promise<number> {
  const [offsets] = await admin.fetchOffsets({ groupId: kafkaGroupId(group, topic), topics: [topic] });
  return Number(offsets?.partitions[0]?.offset ?? -1);
}

async function until(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describeEventBusContract(`KafkaEventBus on a real broker (${BROKERS.join(',')})`, async () => {
  const kafka = new Kafka({ clientId: 'adseed-contract', brokers: BROKERS, logLevel: logLevel.NOTHING });
  return {
    bus: (source) => new KafkaEventBus({ source, brokers: BROKERS, logger: quiet, retry: { maxAttempts: 3, initialBackoffMs: 20, maxBackoffMs: 100 } }),
    read: async (topic) => {
      const admin = kafka.admin();
      await admin.connect();
      try {
        if (!(await admin.listTopics()).includes(topic)) return [];
        const offsets = await admin.fetchTopicOffsets(topic);
        const total = offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
        if (total === 0) return [];
        const out: { partition: number; offset: number; key: string; value: string; headers: Headers }[] = [];
        const consumer = kafka.consumer({ groupId: `contract-read-${Date.now()}-${Math.random()}` });
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({
          eachMessage: async ({ partition, message }) => {
            const headers: Headers = {};
            for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = v.toString();
            out.push({ partition, offset: Number(message.offset), key: message.key?.toString() ?? '', value: message.value?.toString() ?? '', headers });
          },
        });
        const deadline = Date.now() + 20_000;
        while (out.length < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        await consumer.disconnect();
        return out.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
      } finally {
        await admin.disconnect();
      }
    },
    cleanup: async () => undefined,
  };
});

describe(`KafkaEventBus ephemeral groups on a real broker (${BROKERS.join(',')})`, () => {
  const { run, admin } = suiteOnBroker('adseed-ephemeral');
  const topic = defineTopic(`test.ephemeral-${run}.happened.v1`, z.object({ n: z.number().int() }), 2);
  const groups = async () => new Set((await admin.listGroups()).groups.map((g) => g.groupId));
  const newBus = () => new KafkaEventBus({ source: 'test', brokers: BROKERS, logger: quiet });

  it('deletes an ephemeral group when its subscription closes, and the rest when the bus closes; a durable group stays', async () => {
    const bus = newBus();
    const seen: Record<string, number[]> = { a: [], b: [], durable: [] };
    try {
      await bus.ensureTopics([topic]);
      const subscribe = (name: string, ephemeral: boolean) =>
        bus.subscribe(topic, { group: `${name}-${run}`, fromBeginning: false, ephemeral }, async (m) => {
          seen[name].push(m.value.n);
        });
      const a = await subscribe('a', true);
      const b = await subscribe('b', true);
      const durable = await subscribe('durable', false);
      await Promise.all([a.assigned, b.assigned, durable.assigned]);
      await bus.publish(topic, { key: 'k', value: { n: 1 } });
      const deadline = Date.now() + 30_000;
      while (Object.values(seen).some((s) => s.length === 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      // every group sees every message: each is its own view
      assert.deepEqual(seen, { a: [1], b: [1], durable: [1] });
      const all = [kafkaGroupId(`a-${run}`, topic.name), kafkaGroupId(`b-${run}`, topic.name), kafkaGroupId(`durable-${run}`, topic.name)];
      const before = await groups();
      assert.ok(
        all.every((g) => before.has(g)),
        'the three groups exist while subscribed',
      );

      await a.close();
      const afterClose = await groups();
      assert.equal(afterClose.has(all[0]), false, 'the closed ephemeral group is deleted');
      assert.ok(afterClose.has(all[1]) && afterClose.has(all[2]), 'the others are still there');
      await durable.close();
    } finally {
      await bus.close();
    }
    const afterBus = await groups();
    assert.equal(afterBus.has(kafkaGroupId(`b-${run}`, topic.name)), false, 'the bus deletes the ephemeral group still open when it closes');
    assert.equal(afterBus.has(kafkaGroupId(`durable-${run}`, topic.name)), true, 'a durable group keeps its offsets');
    await admin.deleteGroups([kafkaGroupId(`durable-${run}`, topic.name)]);
  });

  it('a new group that only sees new messages sees every one published after subscribe() returned, even before it is assigned, and none from before', async () => {
    const bus = newBus();
    const fresh = defineTopic(`test.ephemeral-${run}.started.v1`, z.object({ n: z.number().int() }), 2);
    const seen: number[] = [];
    try {
      await bus.ensureTopics([fresh]);
      await bus.publish(fresh, { key: 'k0', value: { n: 0 } });
      const subscription = await bus.subscribe(fresh, { group: `late-${run}`, fromBeginning: false, ephemeral: true }, async (m) => {
        seen.push(m.value.n);
      });
      // Published while the group is still joining: kafkajs alone would place the group at the
      // end of each partition at its first fetch, after these, and skip them.
      for (let n = 1; n <= 4; n++) await bus.publish(fresh, { key: `k${n}`, value: { n } });
      await subscription.assigned;
      await bus.publish(fresh, { key: 'k5', value: { n: 5 } });
      const deadline = Date.now() + 30_000;
      while (seen.length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(
        [...seen].sort((x, y) => x - y),
        [1, 2, 3, 4, 5],
      );
    } finally {
      await bus.close();
    }
  });
});

describe(`KafkaEventBus offset commits on a real broker (${BROKERS.join(',')})`, () => {
  const { run, admin } = suiteOnBroker('adseed-commits');
  const topic = defineTopic(`test.commits-${run}.happened.v1`, z.object({ n: z.number().int() }), 1);
  const committed = (group: string) => committedOffset(admin, group, topic.name);

  it('gathers the offsets of the messages done until the interval is over, and commits them when the subscription closes before that', async () => {
    const bus = new KafkaEventBus({ source: 'test', brokers: BROKERS, logger: quiet, commitIntervalMs: 600_000 });
    const group = `gathered-${run}`;
    const seen: number[] = [];
    try {
      await bus.ensureTopics([topic]);
      for (let n = 0; n < 5; n++) await bus.publish(topic, { key: `k${n}`, value: { n } });
      const subscription = await bus.subscribe(topic, { group }, async (m) => void seen.push(m.value.n));
      await until('the five messages to be handled', () => seen.length === 5);
      await new Promise((r) => setTimeout(r, 500));
      assert.ok((await committed(group)) < 5, 'nothing past the handled messages is committed before the interval is over');
      await subscription.close();
      assert.equal(await committed(group), 5, 'closing the subscription committed every message it had handled');
      // The group's next member has nothing left to read: none of the five comes again.
      const again: number[] = [];
      await bus.publish(topic, { key: 'k5', value: { n: 5 } });
      await bus.subscribe(topic, { group }, async (m) => void again.push(m.value.n));
      await until('the message published after the close', () => again.length > 0);
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(again, [5]);
    } finally {
      await bus.close();
    }
  });

  it('commits what a member has done when its group rebalances, without waiting out the interval', async () => {
    const first = new KafkaEventBus({ source: 'test', brokers: BROKERS, logger: quiet, commitIntervalMs: 600_000 });
    const second = new KafkaEventBus({ source: 'test', brokers: BROKERS, logger: quiet, commitIntervalMs: 600_000, sessionTimeoutMs: 6_000 });
    const group = `rebalanced-${run}`;
    let seen = 0;
    try {
      await first.ensureTopics([topic]);
      for (let n = 20; n < 24; n++) await first.publish(topic, { key: `k${n}`, value: { n } });
      const end = Number((await admin.fetchTopicOffsets(topic.name))[0].high);
      await first.subscribe(topic, { group }, async () => void seen++);
      await until('every message to be handled', () => seen === end);
      await new Promise((r) => setTimeout(r, 500));
      assert.ok((await committed(group)) < end, 'nothing past the handled messages is committed before the interval is over');
      // A second member joins: the first one's next heartbeat says the group is rebalancing.
      const joined = await second.subscribe(topic, { group }, async () => void seen++);
      await until('the first member to commit at the rebalance', async () => (await committed(group)) === end, 30_000);
      await joined.assigned;
      await new Promise((r) => setTimeout(r, 1_000));
      assert.equal(seen, end, 'nothing was handled twice, whichever member holds the partition now');
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  it("commits a running consumer's offsets within the interval, without a close", async () => {
    const bus = new KafkaEventBus({ source: 'test', brokers: BROKERS, logger: quiet, commitIntervalMs: 100 });
    const group = `running-${run}`;
    let seen = 0;
    try {
      await bus.ensureTopics([topic]);
      for (let n = 10; n < 13; n++) await bus.publish(topic, { key: `k${n}`, value: { n } });
      const end = Number((await admin.fetchTopicOffsets(topic.name))[0].high);
      await bus.subscribe(topic, { group }, async () => void seen++);
      await until('every message to be handled', () => seen === end);
      await until('the group to commit past the last message', async () => (await committed(group)) === end);
    } finally {
      await bus.close();
    }
  });
});

describe(`KafkaEventBus consumer window on a real broker (${BROKERS.join(',')})`, () => {
  const { run, admin } = suiteOnBroker('adseed-window');
  // One partition: the window is what lets several of its messages run at once.
  const topic = defineTopic(`test.window-${run}.happened.v1`, z.object({ id: z.string(), n: z.number().int() }), 1);
  const group = `window-${run}`;
  const total = 40;
  const keyOf = (n: number) => `k${n % 8}`;
  const stuck = 11; // key k3; k3's next message is 19
  const committed = () => committedOffset(admin, group, topic.name);

  it(
    'a consumer killed (SIGKILL) mid-window: the offset stayed at its first unfinished message, the next consumer gets it and everything after, in key order, nothing lost',
    { timeout: 180_000 },
    async () => {
      const producer = new KafkaEventBus({ source: 'test', brokers: BROKERS, logger: quiet });
      const successor = new KafkaEventBus({ source: 'test', brokers: BROKERS, logger: quiet, sessionTimeoutMs: 6_000 });
      try {
        await producer.ensureTopics([topic]);
        for (let n = 0; n < total; n++) await producer.publish(topic, { key: keyOf(n), value: { id: keyOf(n), n } });

        // First consumer: a child process with a window of 8; message 11 never finishes.
        const started = new Set<number>();
        const done = new Set<number>();
        const child = fork(join(__dirname, '..', 'test', 'dist', 'kafka-window.child.js'), [BROKERS.join(','), topic.name, group, '8', String(stuck)], {
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        });
        const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
        child.on('message', (m: { event?: 'start' | 'done'; n?: number }) => {
          if (m.event === 'start') started.add(m.n!);
          if (m.event === 'done') done.add(m.n!);
        });
        // Everything before the next k3 message (19) is admitted; all but 11 finish.
        const reachable = Array.from({ length: 19 }, (_, n) => n).filter((n) => n !== stuck);
        await until('the first consumer to finish messages 0–18 except 11', () => reachable.every((n) => done.has(n)));
        await until('the done prefix (0–10) to be committed', async () => (await committed()) >= stuck);
        child.kill('SIGKILL');
        assert.equal(await exited, 'SIGKILL');

        assert.ok(started.has(stuck) && !done.has(stuck), 'message 11 was in hand when the consumer died');
        assert.ok(
          [12, 13, 14, 15, 16, 17, 18].every((n) => done.has(n)),
          'the window went past the unfinished message in its partition',
        );
        assert.deepEqual(
          [19, 27, 35].filter((n) => started.has(n)),
          [],
          "k3's later messages waited for its unfinished one",
        );
        assert.equal(await committed(), stuck, 'the committed offset is the first unfinished message, not past the later ones done');

        // Second consumer, same group: it is handed the partition once the dead one's session expires.
        const handled: number[] = [];
        const active = new Set<string>();
        const overlaps: number[] = [];
        const subscription = await successor.subscribe(topic, { group, concurrency: 8 }, async (m) => {
          if (active.has(m.key)) overlaps.push(m.value.n);
          active.add(m.key);
          await new Promise((r) => setImmediate(r));
          handled.push(m.value.n);
          active.delete(m.key);
        });
        await until(
          'the second consumer to handle 11–39',
          () => Array.from({ length: total - stuck }, (_, i) => stuck + i).every((n) => handled.includes(n)),
          120_000,
        );
        await until('its commits', async () => (await committed()) === total);
        await subscription.close();

        assert.deepEqual(
          [...new Set([...done, ...handled])].sort((a, b) => a - b),
          Array.from({ length: total }, (_, n) => n),
          'every message handled at least once',
        );
        assert.equal(Math.min(...handled), stuck, 'redelivery starts at the first unfinished message (0–10 were committed)');
        assert.equal(new Set(handled).size, handled.length, 'the second consumer handled each message once');
        assert.deepEqual(overlaps, [], 'no key handled twice at once');
        for (let k = 0; k < 8; k++) {
          const ns = handled.filter((n) => keyOf(n) === `k${k}`);
          assert.deepEqual(
            ns,
            [...ns].sort((a, b) => a - b),
            `order kept for k${k}`,
          );
        }
      } finally {
        await successor.close();
        await producer.close();
        await admin.deleteGroups([kafkaGroupId(group, topic.name)]).catch(() => undefined);
      }
    },
  );
});
