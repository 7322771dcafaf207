import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConsumerWindow, runPartitionBatch, type WindowMessage } from './kafka.window';

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}
const deferred = (): Deferred => {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
};
/** Lets every pending promise callback run. */
const settle = () => new Promise((r) => setImmediate(r));
const batchOf = (keys: string[], from = 0): WindowMessage[] => keys.map((key, i) => ({ key, offset: String(from + i) }));

/** A handler whose messages finish when the test says so; records starts and the peak in flight. */
function controlled() {
  const pending = new Map<string, Deferred>();
  const started: string[] = [];
  let active = 0;
  let peak = 0;
  return {
    started,
    peak: () => peak,
    handle: async (m: WindowMessage) => {
      const d = deferred();
      pending.set(m.offset, d);
      started.push(m.offset);
      peak = Math.max(peak, ++active);
      try {
        await d.promise;
      } finally {
        active--;
      }
    },
    finish: async (offset: string) => {
      const d = pending.get(offset);
      assert.ok(d, `message ${offset} was started`);
      d.resolve();
      await settle();
      await settle();
    },
    fail: (offset: string, error: Error) => pending.get(offset)!.reject(error),
  };
}

describe(runPartitionBatch.name, () => {
  it("starts a partition's messages together up to the window, holding back a key's later message until its earlier one is done", async () => {
    const h = controlled();
    const progress: string[] = [];
    const run = runPartitionBatch({
      messages: batchOf(['a', 'b', 'a', 'c', 'd', 'e']),
      window: new ConsumerWindow(4),
      handle: h.handle,
      progress: async (m) => void progress.push(m.offset),
      admitting: () => true,
      heartbeat: async () => undefined,
    });
    await settle();
    assert.deepEqual(h.started, ['0', '1'], "the second 'a' (offset 2) waits for the first, and holds back the rest of the partition");
    await h.finish('0');
    assert.deepEqual(h.started, ['0', '1', '2', '3', '4'], 'then it starts, and the window (4) fills');
    assert.equal(h.peak(), 4);
    await h.finish('4');
    assert.deepEqual(progress, ['0'], 'offset 4 done, but 1 is not: the commit stays after 0');
    assert.deepEqual(h.started.at(-1), '5', 'the slot 4 left goes to the next message');
    for (const o of ['1', '2', '3', '5']) await h.finish(o);
    assert.equal(await run, true);
    assert.deepEqual(progress, ['0', '1', '2', '4', '5'], 'each commit is the done prefix, in order (3 done moves it over 4 too)');
  });

  it('shares one window between the partitions of a consumer', async () => {
    const h = controlled();
    const window = new ConsumerWindow(3);
    const batch = (keys: string[], from: number) =>
      runPartitionBatch({
        messages: batchOf(keys, from),
        window,
        handle: h.handle,
        progress: async () => undefined,
        admitting: () => true,
        heartbeat: async () => undefined,
      });
    const runs = [batch(['a', 'b', 'c'], 0), batch(['x', 'y', 'z'], 100)];
    await settle();
    assert.equal(h.started.length, 3);
    assert.equal(window.inUse, 3);
    for (let i = 0; i < 6; i++) await h.finish(h.started[i]); // in the order they started
    assert.deepEqual([...h.started].sort(), ['0', '1', '100', '101', '102', '2']);
    assert.deepEqual(await Promise.all(runs), [true, true]);
    assert.equal(h.peak(), 3, 'never more than the window across both partitions');
    assert.equal(window.inUse, 0);
  });

  it('stops admitting when the consumer stops, lets the messages in hand finish and commits their done prefix', async () => {
    const h = controlled();
    let running = true;
    const progress: string[] = [];
    const run = runPartitionBatch({
      messages: batchOf(['a', 'b', 'c', 'd', 'e']),
      window: new ConsumerWindow(2),
      handle: h.handle,
      progress: async (m) => void progress.push(m.offset),
      admitting: () => running,
      heartbeat: async () => undefined,
    });
    await settle();
    running = false;
    await h.finish('1');
    await h.finish('0');
    assert.equal(await run, false, 'not every message was done');
    assert.deepEqual(h.started, ['0', '1'], 'nothing admitted after the stop');
    assert.deepEqual(progress, ['1'], 'committed past what was done, not past what was never handled');
  });

  it('on a rebalance (heartbeat refused) stops admitting, finishes what is in hand, commits, then rethrows', async () => {
    const h = controlled();
    const group: { rebalancing?: Error } = {};
    const progress: string[] = [];
    const run = runPartitionBatch({
      messages: batchOf(['a', 'b', 'c', 'd']),
      window: new ConsumerWindow(2),
      handle: h.handle,
      progress: async (m) => void progress.push(m.offset),
      admitting: () => true,
      heartbeat: async () => {
        if (group.rebalancing) throw group.rebalancing;
      },
    }).catch((error: Error) => error);
    await settle();
    group.rebalancing = new Error('The group is rebalancing');
    await h.finish('0'); // its completion heartbeats: refused
    assert.deepEqual(h.started, ['0', '1'], 'the freed slot is not used');
    await h.finish('1');
    assert.match(String(await run), /rebalancing/);
    assert.equal(progress.at(-1), '1', 'what was done is committed before the error goes to kafkajs');
  });

  it('a handler that rejects leaves its message uncommitted and ends the batch with its error', async () => {
    const h = controlled();
    const progress: string[] = [];
    const run = runPartitionBatch({
      messages: batchOf(['a', 'b', 'c']),
      window: new ConsumerWindow(2),
      handle: h.handle,
      progress: async (m) => void progress.push(m.offset),
      admitting: () => true,
      heartbeat: async () => undefined,
    }).catch((error: Error) => error);
    await settle();
    h.fail('0', new Error('boom'));
    await settle();
    await h.finish('1');
    assert.match(String(await run), /boom/);
    assert.deepEqual(progress, [], 'offset 1 is done but 0 is not: nothing committable');
    assert.deepEqual(h.started, ['0', '1']);
  });
});

describe(ConsumerWindow.name, () => {
  it('grants slots in order and an aborted wait takes none', async () => {
    const w = new ConsumerWindow(1);
    assert.equal(await w.acquire(), true);
    const abort = new AbortController();
    const first = w.acquire(abort.signal);
    const second = w.acquire();
    abort.abort();
    assert.equal(await first, false);
    w.release();
    assert.equal(await second, true);
    assert.equal(w.inUse, 1);
    assert.throws(() => new ConsumerWindow(0), /positive integer/);
  });
});
