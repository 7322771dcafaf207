import { Logger } from '@adseed/telemetry';
import { Kafka, logLevel } from 'kafkajs';
import { describeEventBusContract } from './event-bus.contract';
import type { Headers } from './event-bus.port';
import { KafkaEventBus } from './kafka.bus';

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
