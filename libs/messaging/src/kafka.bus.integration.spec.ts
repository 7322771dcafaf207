import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
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
  const run = Array.from(randomBytes(8), (b) => String.fromCharCode(97 + (b % 26))).join('');
  const topic = defineTopic(`test.ephemeral-${run}.happened.v1`, z.object({ n: z.number().int() }), 2);
  let admin: Admin;
  before(async () => {
    admin = new Kafka({ clientId: 'adseed-ephemeral', brokers: BROKERS, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
  });
  after(() => admin.disconnect());
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
});
