import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { defineTopic, type TopicDef } from '@adseed/contracts';
import { Logger } from '@adseed/telemetry';
import { z } from 'zod';
import { describeEventBusContract } from './event-bus.contract';
import { InProcessBroker, type InProcessBrokerOptions } from './in-process.broker';
import { InProcessEventBus } from './in-process.bus';

const quiet = new Logger({ service: 'test', level: 'error', sink: () => undefined });

const harness = (options: InProcessBrokerOptions, cleanup: () => Promise<void>) => {
  const broker = new InProcessBroker(options);
  return {
    bus: (source: string) => new InProcessEventBus({ source, broker, logger: quiet, retry: { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 2 } }),
    read: async (topic: string) => broker.read(topic),
    cleanup: async () => {
      await broker.close();
      await cleanup();
    },
  };
};

describeEventBusContract('InProcessEventBus (memory only)', async () => harness({}, async () => undefined));

describeEventBusContract('InProcessEventBus (journalled on disk)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'adseed-bus-contract-'));
  return harness({ journal: { dir }, logger: quiet }, async () => rmSync(dir, { recursive: true, force: true }));
});

describe('InProcessEventBus: validation of what this process encoded', () => {
  /** A topic whose schema counts its runs. */
  const countingTopic = (name = 'test.schema.counted.v1') => {
    const runs = { count: 0 };
    const topic = defineTopic(
      name,
      z.object({ n: z.number().int(), tags: z.array(z.string()).default([]) }).refine(() => ++runs.count > 0),
    );
    return { topic, runs };
  };
  const delivered = <T>(bus: InProcessEventBus, topic: TopicDef<T>, group: string) => {
    const values: T[] = [];
    return { values, subscribed: bus.subscribe(topic, { group }, async (m) => void values.push(m.value)) };
  };

  it('a consumer of the same topic definition gets the encoded value without the schema running again', async () => {
    const broker = new InProcessBroker();
    const bus = new InProcessEventBus({ source: 'test', broker, logger: quiet });
    const { topic, runs } = countingTopic();
    const seen = delivered(bus, topic, 'g');
    await seen.subscribed;
    await bus.publish(topic, { key: 'k', value: { n: 1 } as { n: number; tags: string[] } });
    await broker.whenIdle();
    assert.equal(runs.count, 1, 'validated once, when published');
    assert.deepEqual(seen.values, [{ n: 1, tags: [] }], 'as encoded, defaults applied');
    await bus.close();
  });

  it('a consumer with another definition of the topic, or anything read back from the journal, is validated', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'adseed-bus-validated-'));
    try {
      const first = new InProcessBroker({ journal: { dir }, logger: quiet });
      const producer = new InProcessEventBus({ source: 'test', broker: first, logger: quiet });
      const { topic, runs } = countingTopic();
      await producer.publish(topic, { key: 'k', value: { n: 2, tags: [] } });
      // Another build's idea of the same topic: stricter, so it refuses what this one accepted.
      const stricter = defineTopic(topic.name, z.object({ n: z.number().int().min(10), tags: z.array(z.string()) }));
      const strictBus = new InProcessEventBus({ source: 'strict', broker: first, logger: quiet, retry: { maxAttempts: 1 } });
      const strict = delivered(strictBus, stricter, 'strict');
      await strict.subscribed;
      await first.whenIdle();
      assert.deepEqual(strict.values, [], 'the other definition validated it, and refused it');
      assert.equal(first.read(`${topic.name}.dlt`).length, 1);
      await first.close();

      const second = new InProcessBroker({ journal: { dir }, logger: quiet });
      const consumer = new InProcessEventBus({ source: 'test', broker: second, logger: quiet });
      const before = runs.count;
      const replayed = delivered(consumer, topic, 'after-restart');
      await replayed.subscribed;
      await second.whenIdle();
      assert.deepEqual(replayed.values, [{ n: 2, tags: [] }]);
      assert.equal(runs.count, before + 1, 'read back from the journal: validated again');
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
