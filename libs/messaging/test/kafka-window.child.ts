/**
 * A child process for the Kafka window kill test (`kafka.bus.integration.spec.ts`): subscribes to
 * a topic with a concurrency window and reports each message it starts and finishes. The message
 * numbered `<stuck n>` never finishes, so the window moves on past it; the parent checks the
 * group's committed offset and kills this process with SIGKILL (no leave, no commit on the way out).
 *
 *   node kafka-window.child.js <brokers> <topic> <group> <window> <stuck n>
 *
 * Sends its parent `{ assigned: true }`, then `{ event: 'start' | 'done', n, key, partition, offset }`.
 */
import { defineTopic } from '@adseed/contracts';
import { Logger } from '@adseed/telemetry';
import { z } from 'zod';
import { KafkaEventBus } from '@adseed/messaging';

async function main(): Promise<void> {
  const [brokers, topicName, group, windowArg, stuckArg] = process.argv.slice(2);
  const topic = defineTopic(topicName, z.object({ id: z.string(), n: z.number().int() }), 1);
  const logger = new Logger({ service: 'kafka-window-child', level: 'error', sink: (line) => process.stderr.write(line + '\n') });
  const bus = new KafkaEventBus({ source: 'kafka-window-child', brokers: brokers.split(','), logger, sessionTimeoutMs: 6_000 });
  const stuck = Number(stuckArg);
  const subscription = await bus.subscribe(topic, { group, concurrency: Number(windowArg) }, async (m) => {
    const report = { n: m.value.n, key: m.key, partition: m.partition, offset: m.offset };
    process.send?.({ event: 'start', ...report });
    if (m.value.n === stuck) await new Promise(() => undefined); // never done: the crash happens while it runs
    await new Promise((resolve) => setImmediate(resolve));
    process.send?.({ event: 'done', ...report });
  });
  await subscription.assigned;
  process.send?.({ assigned: true });
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  process.exit(1);
});
