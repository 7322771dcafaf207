/**
 * One Kafka consumer's offset commits, gathered: a handled message marks its partition's offset
 * done at once, and the marks of up to `intervalMs` go to the group coordinator in one
 * OffsetCommit request. Before, every message waited for its own commit before its partition's
 * next message started: one request per message, each written to `__consumer_offsets`, on the
 * broker's CPU and in every message's latency.
 *
 * Delivery stays at least once: only offsets of messages whose handler (or dead-lettering) is done
 * are ever marked, and a process that dies before a mark is committed has those messages
 * delivered again, as it did when it died between a handler and its commit, now for up to
 * `intervalMs` of them. At a rebalance (a member joining or leaving: a scale-out, a rolling
 * restart) the bus flushes the marks at once; those the coordinator refuses all the same (it no
 * longer takes the old generation's commits once the group has rejoined) are reported and dropped,
 * and every member resumes from the last commit it accepted. One request is in flight at a time;
 * the marks made meanwhile wait for the next interval. `flush()` commits what is marked before a
 * consumer leaves its group; `discard()` drops it when the consumer is gone. Kept free of kafkajs
 * so it can be tested on its own; kafka.bus.ts wires it to a consumer.
 */

export interface CommittedOffset {
  topic: string;
  partition: number;
  /** The next offset to read: one past the last message done. */
  offset: string;
}

export class OffsetCommitter {
  /** Per topic and partition, one past the highest offset done and not yet sent. */
  private readonly marked = new Map<string, CommittedOffset & { next: bigint }>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  /** flush() calls waiting: marks go out as soon as no request is in flight. */
  private flushing = 0;

  /**
   * `commit` sends one OffsetCommit request; `refused` hears of a request that failed.
   * `intervalMs` 0 sends each mark as soon as no request is in flight.
   */
  constructor(
    private readonly commit: (offsets: CommittedOffset[]) => Promise<void>,
    private readonly refused: (error: unknown, offsets: CommittedOffset[]) => void,
    private readonly intervalMs: number,
  ) {}

  /** Partitions with an offset marked and not yet sent. */
  get pending(): number {
    return this.marked.size;
  }

  /** The message at `offset` of `topic`/`partition` is done: the partition's next commit goes past it. */
  done(topic: string, partition: number, offset: string): void {
    const key = `${partition}\u0000${topic}`;
    const next = BigInt(offset) + 1n;
    const before = this.marked.get(key);
    if (before && before.next >= next) return;
    this.marked.set(key, { topic, partition, offset: next.toString(), next });
    this.schedule();
  }

  /** Sends what is marked now and resolves once every mark so far is committed or refused. */
  async flush(): Promise<void> {
    this.flushing++;
    try {
      if (this.timer) this.send();
      while (this.running) await this.running;
    } finally {
      this.flushing--;
    }
  }

  /** The consumer is gone (crashed, never started): its marks go nowhere. */
  discard(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.marked.clear();
  }

  private schedule(): void {
    if (this.running || this.timer || this.marked.size === 0) return;
    if (this.intervalMs > 0 && this.flushing === 0) this.timer = setTimeout(() => this.send(), this.intervalMs).unref();
    else this.send();
  }

  /** One request with every mark so far; when it is answered, the marks made meanwhile are scheduled. */
  private send(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const offsets = [...this.marked.values()].map(({ topic, partition, offset }) => ({ topic, partition, offset }));
    this.marked.clear();
    this.running = Promise.resolve()
      .then(() => this.commit(offsets))
      .catch((error: unknown) => this.refused(error, offsets))
      .finally(() => {
        this.running = undefined;
        this.schedule();
      });
  }
}
