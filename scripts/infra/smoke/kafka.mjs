// Smoke: kafkajs 2.2.4 against the local broker: auto topic creation is off, an explicitly
// created topic carries one message from a producer to a fresh consumer group.
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';

const broker = process.env.ADSEED_KAFKA_BROKERS ?? '127.0.0.1:19092';
const kafka = new Kafka({ clientId: 'adseed-smoke', brokers: [broker], logLevel: logLevel.NOTHING, connectionTimeout: 5000 });
const topic = 'adseed.smoke.ping.v1';
const key = `smoke-${process.pid}-${Date.now()}`;
const TIMEOUT_MS = 30_000;
const t0 = performance.now();

const admin = kafka.admin();
await admin.connect();
const [brokerConfig] = (
  await admin.describeConfigs({
    resources: [{ type: 4 /* BROKER */, name: '1', configNames: ['auto.create.topics.enable'] }],
    includeSynonyms: false,
  })
).resources;
assert.equal(brokerConfig.configEntries[0].configValue, 'false', 'auto.create.topics.enable must be false');
await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
await admin.disconnect();

const producer = kafka.producer({ allowAutoTopicCreation: false });
await producer.connect();
await producer.send({ topic, messages: [{ key, value: JSON.stringify({ key }) }] });
await producer.disconnect();

const consumer = kafka.consumer({ groupId: `adseed-smoke-${process.pid}`, allowAutoTopicCreation: false });
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
let timer;
try {
  await Promise.race([
    new Promise((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          if (message.key?.toString() === key) resolve(undefined);
        },
      });
    }),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no message with key ${key} on ${topic} within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    }),
  ]);
} finally {
  clearTimeout(timer);
  await consumer.disconnect();
}
console.log(`kafka ok: auto-create off, produce+consume on ${topic} in ${(performance.now() - t0).toFixed(0)} ms`);
