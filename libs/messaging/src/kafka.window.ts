/**
 * The consumer window of the Kafka adapter: how a subscriber with `concurrency` handles the
 * messages of the batches kafkajs fetches (`eachBatch`), several messages of one partition at
 * once, with the same guarantees as the in-process bus. Kept free of kafkajs so it can be
 * reasoned about (and tested) on its own; kafka.bus.ts wires it to a consumer.
 */

/** At most `size` messages handled at once across the partitions one consumer holds (FIFO). */
export class ConsumerWindow {
  private used = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`ConsumerWindow: size must be a positive integer, got ${size}`);
  }

  /** Messages being handled now. */
  get inUse(): number {
    return this.used;
  }

  /** Resolves true once a slot is taken, or false if `signal` aborts first (no slot taken then). */
  acquire(signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    if (this.used < this.size) {
      this.used++;
      return Promise.resolve(true);
    }
    return new Promise<boolean>((resolve) => {
      const grant = () => {
        signal?.removeEventListener('abort', abort);
        this.used++;
        resolve(true);
      };
      const abort = () => {
        const at = this.waiters.indexOf(grant);
        if (at >= 0) this.waiters.splice(at, 1);
        resolve(false);
      };
      this.waiters.push(grant);
      signal?.addEventListener('abort', abort, { once: true });
    });
  }

  release(): void {
    this.used--;
    this.waiters.shift()?.();
  }
}

/** One message of a fetched batch, as far as the window cares. */
export interface WindowMessage {
  offset: string;
  key: string;
}

export interface PartitionBatch<M extends WindowMessage> {
  /** The batch's messages in offset order (one partition). */
  messages: M[];
  window: ConsumerWindow;
  /** Handles one message; resolves once it is done with (handled or dead-lettered). */
  handle(message: M): Promise<void>;
  /**
   * Every message up to and including `last` is done: move the fetch position past it and have
   * `last + 1` committed (the Kafka adapter marks it for its consumer's OffsetCommitter, which
   * commits every interval). Called in order, never concurrently, only when that offset advanced.
   */
  progress(last: M): Promise<void>;
  /** False once the consumer stops or the partition is sought elsewhere: admit no more messages. */
  admitting(): boolean;
  /** kafkajs's heartbeat: rejects when the group is rebalancing (then this batch stops admitting). */
  heartbeat(): Promise<void>;
  heartbeatEveryMs?: number;
}

/**
 * Handles one partition's fetched batch inside the subscriber's window: messages are admitted in
 * offset order while the window has room, each started without waiting for the ones before it,
 * except that a message whose key is still being handled waits for it (and holds back the rest of
 * the partition), so a key's messages run one at a time, in order. The partition's offset only
 * ever advances to its first message not yet done: a crash re-delivers from there. A stop, a
 * rebalance (a refused heartbeat), a `progress` or a handler that rejects ends admission; the
 * messages in hand finish and their done prefix goes to `progress` before this resolves or rethrows.
 * Returns whether every message of the batch was done.
 */
export async function runPartitionBatch<M extends WindowMessage>(batch: PartitionBatch<M>): Promise<boolean> {
  const { messages, window } = batch;
  const done = new Array<boolean>(messages.length).fill(false);
  /** Index of the first message not yet done: everything before it is committable. */
  let doneUpTo = 0;
  let committedUpTo = 0;
  const stop = new AbortController();
  let failure: unknown;
  const fail = (error: unknown) => {
    failure ??= error;
    stop.abort();
  };
  const running = new Map<string, Promise<void>>();
  const inFlight = new Set<Promise<void>>();

  let commits: Promise<void> = Promise.resolve();
  const commit = () => {
    commits = commits.then(async () => {
      if (doneUpTo <= committedUpTo) return;
      const upTo = doneUpTo;
      try {
        await batch.progress(messages[upTo - 1]);
        committedUpTo = upTo;
      } catch (error) {
        fail(error);
      }
    });
  };
  const beat = () => void batch.heartbeat().catch(fail);
  const beats = setInterval(beat, batch.heartbeatEveryMs ?? 3_000);
  const stopped = () => stop.signal.aborted || !batch.admitting();
  const aborted = new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));

  try {
    for (let i = 0; i < messages.length && !stopped(); i++) {
      const message = messages[i];
      const before = running.get(message.key);
      if (before) await Promise.race([before, aborted]);
      if (stopped() || !(await window.acquire(stop.signal))) break;
      if (stopped()) {
        window.release();
        break;
      }
      const index = i;
      const handled: Promise<void> = batch.handle(message).then(
        () => {
          done[index] = true;
          while (doneUpTo < messages.length && done[doneUpTo]) doneUpTo++;
          commit();
          beat();
        },
        (error: unknown) => fail(error),
      );
      const settled = handled.finally(() => {
        window.release();
        if (running.get(message.key) === settled) running.delete(message.key);
        inFlight.delete(settled);
      });
      running.set(message.key, settled);
      inFlight.add(settled);
    }
    while (inFlight.size > 0) await Promise.all([...inFlight]);
    commit();
    await commits;
  } finally {
    clearInterval(beats);
  }
  if (failure !== undefined) throw failure instanceof Error ? failure : new Error('consumer window stopped', { cause: failure });
  return doneUpTo === messages.length;
}
