// Smoke: the `minio` npm client against the local MinIO: bucket with a Kafka notification
// (arn:minio:sqs::ADSEED:kafka), put/get one object, and see its ObjectCreated event arrive on
// the topic MinIO was started with.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import * as Minio from 'minio';

const TIMEOUT_MS = 30_000;
const topic = process.env.ADSEED_MINIO_NOTIFY_TOPIC ?? 'adseed.storage.object-events.v1';
const kafka = new Kafka({
  clientId: 'adseed-smoke',
  brokers: [process.env.ADSEED_KAFKA_BROKERS ?? '127.0.0.1:19092'],
  logLevel: logLevel.NOTHING,
  connectionTimeout: 5000,
});
const s3 = new Minio.Client({
  endPoint: '127.0.0.1',
  port: Number(process.env.ADSEED_MINIO_PORT ?? 19000),
  useSSL: false,
  accessKey: process.env.MINIO_ROOT_USER ?? 'adseed',
  secretKey: process.env.MINIO_ROOT_PASSWORD ?? 'adseed-secret',
});
const bucket = `smoke-${process.pid}`;
const objectKey = `photos/${Date.now()}.bin`;
const body = randomBytes(4096);
const t0 = performance.now();

// Auto topic creation is off: the notification topic must exist before MinIO publishes.
const admin = kafka.admin();
await admin.connect();
await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });
await admin.disconnect();

const consumer = kafka.consumer({ groupId: `adseed-smoke-minio-${process.pid}` });
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
let resolveEvent;
const eventArrived = new Promise((resolve) => {
  resolveEvent = resolve;
});
void consumer.run({
  eachMessage: async ({ message }) => {
    const event = JSON.parse(message.value?.toString() ?? '{}');
    const record = event.Records?.[0];
    if (record?.s3?.bucket?.name === bucket && decodeURIComponent(record.s3.object.key) === objectKey) resolveEvent(event);
  },
});

let timer;
try {
  await s3.makeBucket(bucket);
  const notification = new Minio.NotificationConfig();
  const queue = new Minio.QueueConfig(Minio.buildARN('minio', 'sqs', '', 'ADSEED', 'kafka'));
  queue.addEvent(Minio.ObjectCreatedAll);
  notification.add(queue);
  await s3.setBucketNotification(bucket, notification);

  await s3.putObject(bucket, objectKey, body, body.length, { 'Content-Type': 'application/octet-stream' });
  const chunks = [];
  for await (const chunk of await s3.getObject(bucket, objectKey)) chunks.push(chunk);
  assert.ok(Buffer.concat(chunks).equals(body), 'object read back differs from what was written');

  const event = await Promise.race([
    eventArrived,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no ObjectCreated event for ${bucket}/${objectKey} on ${topic} within ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    }),
  ]);
  assert.match(event.EventName, /^s3:ObjectCreated:/);
} finally {
  clearTimeout(timer);
  await consumer.disconnect();
  await s3.removeObject(bucket, objectKey).catch(() => undefined);
  await s3.removeBucket(bucket).catch(() => undefined);
}
console.log(`minio ok: put/get ${body.length} B and ObjectCreated event on ${topic} in ${(performance.now() - t0).toFixed(0)} ms`);
