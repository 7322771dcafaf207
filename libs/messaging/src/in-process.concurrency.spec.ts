import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { defineTopic } from '@adseed/contracts';
import { Logger } from '@adseed/telemetry';
import { z } from 'zod';
import { InProcessBroker } from './in-process.broker';
import { InProcessEventBus } from './in-process.bus';

// One partition: every message shares it, so only the subscriber's window lets them overlap.
const One = defineTopic('test.window-one.happened.v1', z.object({ n: z.number().int() }), 1);
const Many = defineTopic('test.window-many.happened.v1', z.object({ n: z.number().int() }), 4);

const quiet = new Logger({ service: 'test', level: 'error', sink: () => undefined });

/** A handler whose calls each wait until the test releases them, by message number. */
function gatedHandler() {
  const running = new Map<number, () => void>();
  const started: number[] = [];
  let maxRunning = 0;
  let changed = () => undefined as void;
  const handler = async (m: { value: { n: number }; key: string }) => {
    started.push(m.value.n);
    await new Promise<void>((resolve) => {
      running.set(m.value.n, resolve);
      maxRunning = Math.max(maxRunning, running.size);
      changed();
    });
    running.delete(m.value.n);
  };
  /** Resolves once `predicate` holds (re-checked whenever a handler starts). */
  const until = async (predicate: () => boolean) => {
    while (!predicate()) {
      await new Promise<void>((resolve) => {
        changed = resolve;
        setImmediate(resolve); // deliveries happen on later ticks; look again after each
      });
    }
  };
  const release = (n: number) => {
    const resolve = running.get(n);
    assert.ok(resolve, `message ${n} is not being handled (running: ${[...running.keys()].join(', ')})`);
    resolve();
  };
  return { handler, running, started, release, until, maxRunning: () => maxRunning };
}

describe('InProcessBroker: a subscriber with a concurrency window', () => {
  let dir: string;
  let broker: InProcessBroker;
  const busOf = (b: InProcessBroker) => new InProcessEventBus({ source: 'test', broker: b, logger: quiet });
  const open = () => new InProcessBroker({ journal: { dir }, logger: quiet });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'adseed-window-'));
    broker = open();
  });
  afterEach(async () => {
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('without a window, handles one message of a partition at a time', async () => {
    const bus = busOf(broker);
    const gate = gatedHandler();
    await bus.subscribe(One, { group: 'g' }, gate.handler);
    for (let n = 0; n < 3; n++) await bus.publish(One, { key: `k${n}`, value: { n } });
    await gate.until(() => gate.running.size === 1);
    for (let n = 0; n < 3; n++) {
      await gate.until(() => gate.running.has(n));
      assert.equal(gate.running.size, 1);
      gate.release(n);
    }
    await broker.whenIdle();
    assert.deepEqual(gate.started, [0, 1, 2]);
    assert.equal(gate.maxRunning(), 1);
  });

  it('hands out up to `concurrency` messages of one partition at once, and the next as one ends', async () => {
    const bus = busOf(broker);
    const gate = gatedHandler();
    await bus.subscribe(One, { group: 'g', concurrency: 4 }, gate.handler);
    for (let n = 0; n < 6; n++) await bus.publish(One, { key: `k${n}`, value: { n } });
    await gate.until(() => gate.running.size === 4);
    assert.deepEqual([...gate.running.keys()], [0, 1, 2, 3], 'in offset order');
    gate.release(2);
    await gate.until(() => gate.running.has(4));
    assert.deepEqual([...gate.running.keys()].sort(), [0, 1, 3, 4]);
    for (const n of [0, 1, 3, 4]) gate.release(n);
    await gate.until(() => gate.running.has(5));
    gate.release(5);
    await broker.whenIdle();
    assert.equal(gate.maxRunning(), 4);
    assert.deepEqual(gate.started, [0, 1, 2, 3, 4, 5]);
  });

  it('the window spans partitions: no more than `concurrency` in flight in all', async () => {
    const bus = busOf(broker);
    const gate = gatedHandler();
    await bus.subscribe(Many, { group: 'g', concurrency: 3 }, gate.handler);
    for (let n = 0; n < 12; n++) await bus.publish(Many, { key: `k${n}`, value: { n } });
    await gate.until(() => gate.running.size === 3);
    while (gate.started.length < 12 || gate.running.size > 0) {
      await gate.until(() => gate.running.size > 0);
      assert.ok(gate.running.size <= 3, `${gate.running.size} in flight`);
      gate.release([...gate.running.keys()][0]);
      await new Promise((r) => setImmediate(r));
    }
    await broker.whenIdle();
    assert.deepEqual(
      [...gate.started].sort((a, b) => a - b),
      [...Array(12).keys()],
    );
    assert.equal(gate.maxRunning(), 3);
  });

  it("a key's messages are handled one after another, in publish order, while other keys overtake", async () => {
    const bus = busOf(broker);
    const gate = gatedHandler();
    await bus.subscribe(One, { group: 'g', concurrency: 8 }, gate.handler);
    // a0 a1 b2 a3 — a1 waits for a0; the partition's later messages wait behind a1
    const keys = ['a', 'a', 'b', 'a'];
    for (let n = 0; n < keys.length; n++) await bus.publish(One, { key: keys[n], value: { n } });
    await gate.until(() => gate.running.has(0));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual([...gate.running.keys()], [0], 'a1 waits for a0, and what follows a1 waits with it');
    gate.release(0);
    await gate.until(() => gate.running.has(1) && gate.running.has(2));
    assert.equal(gate.running.has(3), false, 'a3 waits for a1');
    gate.release(2);
    await new Promise((r) => setImmediate(r));
    assert.equal(gate.running.has(3), false, 'still waiting for a1, not for b2');
    gate.release(1);
    await gate.until(() => gate.running.has(3));
    gate.release(3);
    await broker.whenIdle();
    assert.deepEqual(gate.started, [0, 1, 2, 3]);
  });

  it('commits only up to the first message not yet done', async () => {
    const bus = busOf(broker);
    const gate = gatedHandler();
    await bus.subscribe(One, { group: 'g', concurrency: 4 }, gate.handler);
    for (let n = 0; n < 4; n++) await bus.publish(One, { key: `k${n}`, value: { n } });
    await gate.until(() => gate.running.size === 4);
    gate.release(1);
    gate.release(2);
    await gate.until(() => !gate.running.has(1) && !gate.running.has(2));
    await new Promise((r) => setImmediate(r));
    assert.equal(broker.lag(One.name, 'g'), 4, '1 and 2 are done but 0 is not: nothing is committed');
    gate.release(0);
    await gate.until(() => !gate.running.has(0));
    await new Promise((r) => setImmediate(r));
    assert.equal(broker.lag(One.name, 'g'), 1, '0, 1 and 2 committed; 3 still in flight');
    gate.release(3);
    await broker.whenIdle();
    assert.equal(broker.lag(One.name, 'g'), 0);
  });

  it('after a crash, delivers again every message from the first one not done (done ones after it too)', async () => {
    const bus = busOf(broker);
    const gate = gatedHandler();
    await bus.subscribe(One, { group: 'g', concurrency: 4 }, gate.handler);
    for (let n = 0; n < 6; n++) await bus.publish(One, { key: `k${n}`, value: { n } });
    await gate.until(() => gate.running.size === 4);
    gate.release(0);
    gate.release(2);
    gate.release(3);
    await gate.until(() => gate.running.has(5));
    await broker.flush(); // offsets on disk: 0 committed; 2 and 3 done but behind 1
    broker.halt(); // crash with 1, 4, 5 in their handlers

    broker = open();
    const again: number[] = [];
    await busOf(broker).subscribe(One, { group: 'g', concurrency: 4 }, async (m) => void again.push(m.value.n));
    await broker.whenIdle();
    assert.deepEqual(
      again.sort((a, b) => a - b),
      [1, 2, 3, 4, 5],
      'at least once: nothing before the first unfinished one, everything from it',
    );
  });

  it('refuses a window that is not a positive integer', async () => {
    await assert.rejects(
      busOf(broker).subscribe(One, { group: 'g', concurrency: 0 }, async () => undefined),
      /concurrency must be a positive integer/,
    );
  });
});
