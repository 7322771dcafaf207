/**
 * Produce requests of the Kafka adapter, coalesced: the records published while a request is in
 * flight leave together in the next one (group commit). The idempotent producer keeps one request
 * in flight per broker, so without this every publish of a process waited for the acknowledgement
 * of every earlier one, one round trip each (the storage bridge's ingest requests queued behind the
 * embedding service's own `asset.embedded` events). Nothing waits for a timer: an idle producer
 * sends what was published in the same turn of the event loop at once. Kept free of kafkajs so it
 * can be tested on its own; kafka.bus.ts wires it to a producer.
 */

export interface ProducedRecord {
  key: string;
  value: string;
  headers: Record<string, string>;
}

/** One request's records, by topic, each topic's in publish order. */
export type ProduceRequest = { topic: string; messages: ProducedRecord[] }[];

export interface ProduceCoalescerOptions {
  /** A request holds at most this many bytes of keys and values (one larger record still goes alone). Default 512 KiB. */
  maxRequestBytes?: number;
  /** …and at most this many records. Default 500. */
  maxRequestRecords?: number;
}

interface Pending {
  topic: string;
  record: ProducedRecord;
  bytes: number;
  done: (error?: Error) => void;
}

export class ProduceCoalescer {
  private readonly queue: Pending[] = [];
  private running?: Promise<void>;
  private readonly maxBytes: number;
  private readonly maxRecords: number;

  /** `produce` sends one request and resolves once the broker acknowledged all of it. */
  constructor(
    private readonly produce: (request: ProduceRequest) => Promise<void>,
    options: ProduceCoalescerOptions = {},
  ) {
    this.maxBytes = options.maxRequestBytes ?? 512 * 1024;
    this.maxRecords = options.maxRequestRecords ?? 500;
  }

  /** Records waiting for a request (not counting the one in flight). */
  get waiting(): number {
    return this.queue.length;
  }

  /** Resolves once the request carrying `record` was acknowledged; rejects with that request's error. */
  send(topic: string, record: ProducedRecord): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({
        topic,
        record,
        bytes: Buffer.byteLength(record.key) + Buffer.byteLength(record.value),
        done: (e) => (e === undefined ? resolve() : reject(e)),
      });
      // Start after the current turn, so the publishes of one burst share the first request.
      this.running ??= new Promise<void>((r) => setImmediate(r)).then(() => this.drainQueue());
    });
  }

  /** Resolves once every record sent so far is acknowledged or failed (for shutdown). */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drainQueue(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.take();
        const byTopic = new Map<string, ProducedRecord[]>();
        for (const p of batch) {
          const list = byTopic.get(p.topic);
          if (list) list.push(p.record);
          else byTopic.set(p.topic, [p.record]);
        }
        let failure: Error | undefined;
        try {
          await this.produce([...byTopic].map(([topic, messages]) => ({ topic, messages })));
        } catch (error) {
          failure = error instanceof Error ? error : new Error(`produce failed: ${String(error)}`);
        }
        for (const p of batch) p.done(failure);
      }
    } finally {
      this.running = undefined;
    }
  }

  /** The oldest records that fit one request (at least one). */
  private take(): Pending[] {
    let bytes = 0;
    let n = 0;
    while (n < this.queue.length && n < this.maxRecords) {
      const next = this.queue[n].bytes;
      if (n > 0 && bytes + next > this.maxBytes) break;
      bytes += next;
      n++;
    }
    return this.queue.splice(0, n);
  }
}
