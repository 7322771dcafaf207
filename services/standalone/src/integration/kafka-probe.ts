import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Admin, type Consumer, type EachMessagePayload, type IHeaders, type Producer } from 'kafkajs';

/** One message as a test sees it: bytes decoded as UTF-8, headers as strings. */
export interface ProbedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: string;
  value: string;
  headers: Record<string, string>;
}

export interface RawMessage {
  key: string;
  /** Sent as it is: the point is to be able to send what no service would. */
  value: string | Buffer;
  headers?: Record<string, string>;
}

export interface Watch {
  /** Whether this watch has delivered every message below `ends` (from `endOffsets`) on `topic`. */
  hasReadUpTo(topic: string, ends: Map<number, bigint>): boolean;
  stop(): Promise<void>;
}

/**
 * The tests' own Kafka client, outside every service: produces raw bytes (poison included) and
 * watches topics from throw-away consumer groups. Its retries are generous so it outlives a broker
 * restart that a scenario causes on purpose; what is under test is the services, not the probe.
 */
export class KafkaProbe {
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private readonly admin: Admin;
  private readonly consumers = new Set<Consumer>();

  private constructor(brokers: string[]) {
    this.kafka = new Kafka({
      clientId: `adseed-it-probe-${randomUUID().slice(0, 8)}`,
      brokers,
      logLevel: logLevel.NOTHING,
      connectionTimeout: 3_000,
      requestTimeout: 15_000,
      retry: { initialRetryTime: 300, maxRetryTime: 3_000, retries: 60 },
    });
    this.producer = this.kafka.producer({ allowAutoTopicCreation: false });
    this.admin = this.kafka.admin();
  }

  static async connect(brokers: string[]): Promise<KafkaProbe> {
    const probe = new KafkaProbe(brokers);
    await probe.producer.connect();
    await probe.admin.connect();
    return probe;
  }

  async produce(topic: string, messages: RawMessage[]): Promise<void> {
    await this.producer.send({ topic, acks: -1, messages: messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers ?? {} })) });
  }

  async createTopic(topic: string, numPartitions = 1): Promise<void> {
    await this.admin.createTopics({ topics: [{ topic, numPartitions, replicationFactor: -1 }], waitForLeaders: true });
  }

  async deleteTopic(topic: string): Promise<void> {
    await this.admin.deleteTopics({ topics: [topic], timeout: 10_000 });
  }

  /** Messages on `topic` that consumer group `groupId` has not committed yet (all of them if it never committed). */
  async lag(groupId: string, topic: string): Promise<number> {
    const [ends, [committed]] = await Promise.all([this.admin.fetchTopicOffsets(topic), this.admin.fetchOffsets({ groupId, topics: [topic] })]);
    const done = new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    let lag = 0n;
    for (const p of ends) {
      const start = done.get(p.partition) ?? -1n;
      lag += BigInt(p.high) - (start < BigInt(p.low) ? BigInt(p.low) : start);
    }
    return Number(lag);
  }

  /** The next offset to be written on each partition of `topic`. */
  /** The consumer groups the broker knows. */
  async groups(): Promise<string[]> {
    return (await this.admin.listGroups()).groups.map((g) => g.groupId);
  }

  async endOffsets(topic: string): Promise<Map<number, bigint>> {
    return new Map((await this.admin.fetchTopicOffsets(topic)).map((p) => [p.partition, BigInt(p.high)]));
  }

  /**
   * Calls `onMessage` for every message on `topics` from a new consumer group, once per
   * (topic, partition, offset) even if the group re-reads after a rebalance. Resolves once the
   * group has its partitions, so with `fromBeginning: false` nothing sent afterwards is missed.
   * `startAt` (offsets from `endOffsets`, taken earlier) reads one topic from there instead.
   *
   * A watch should not live through a broker restart: kafkajs 2.2.4 consumers that crash and
   * restart leave their group-coordinator connections open after disconnect(), which keeps the
   * test process from exiting. Stop it before, and start a new one with `startAt` after.
   */
  async watch(
    topics: string[],
    options: { fromBeginning: boolean; startAt?: { topic: string; offsets: Map<number, bigint> } },
    onMessage: (message: ProbedMessage) => void,
  ): Promise<Watch> {
    const groupId = `it-probe-${randomUUID()}`;
    const { startAt } = options;
    // The group's starting offsets are set before it has a member: seek() only works once the
    // consumer has joined, and right after a broker restart joining can take several attempts.
    if (startAt) {
      await retrying(`set the offsets of a probe group on ${startAt.topic}`, () =>
        this.admin.setOffsets({
          groupId,
          topic: startAt.topic,
          partitions: [...startAt.offsets].map(([partition, offset]) => ({ partition, offset: offset.toString() })),
        }),
      );
    }
    const next = new Map<string, bigint>();
    const eachMessage = async ({ topic, partition, message }: EachMessagePayload): Promise<void> => {
      const id = `${topic}/${partition}`;
      const offset = BigInt(message.offset);
      if (offset < (next.get(id) ?? 0n)) return; // read again after a restart: already seen
      next.set(id, offset + 1n);
      onMessage({
        topic,
        partition,
        offset: message.offset,
        key: message.key?.toString('utf8') ?? '',
        value: message.value?.toString('utf8') ?? '',
        headers: stringHeaders(message.headers),
      });
    };
    let current: Consumer | undefined;
    let stopped = false;
    const start = async (): Promise<void> => {
      const consumer = this.kafka.consumer({
        groupId,
        allowAutoTopicCreation: false,
        sessionTimeout: 30_000,
        heartbeatInterval: 3_000,
        maxWaitTimeInMs: 1_000,
      });
      this.consumers.add(consumer);
      current = consumer;
      // Listen before run(): run() may join the group before it returns.
      const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
      consumer.on(consumer.events.CRASH, (event) => {
        if (event.payload.restart || stopped) return;
        // kafkajs gave this consumer up (a non-retriable error, as after a broker restart): another
        // one takes its place in the same group, and `next` drops what it reads again.
        this.consumers.delete(consumer);
        void consumer
          .disconnect()
          .catch(() => undefined)
          .then(() => (stopped ? undefined : retrying(`restart the probe consumer for ${topics.join(', ')}`, start)))
          .catch(() => undefined);
      });
      try {
        await consumer.connect();
        await consumer.subscribe({ topics, fromBeginning: options.fromBeginning });
        await consumer.run({ eachMessage });
        await withTimeout(joined, 45_000, `the probe did not join a consumer group for ${topics.join(', ')} within 45 s`);
      } catch (error) {
        this.consumers.delete(consumer);
        await consumer.disconnect().catch(() => undefined);
        throw error;
      }
    };
    await retrying(`start a probe consumer for ${topics.join(', ')}`, start);
    // Where each partition stood when the group joined: a watch that starts at new messages has
    // "read" a partition up to here even though it saw none of it.
    const baseline = new Map<string, Map<number, bigint>>();
    for (const topic of topics) {
      baseline.set(
        topic,
        startAt?.topic === topic
          ? startAt.offsets
          : options.fromBeginning
            ? new Map()
            : await retrying(`read the end offsets of ${topic}`, () => this.endOffsets(topic)),
      );
    }
    return {
      hasReadUpTo: (topic, ends) => [...ends].every(([p, end]) => end <= (baseline.get(topic)?.get(p) ?? 0n) || (next.get(`${topic}/${p}`) ?? 0n) >= end),
      stop: async () => {
        stopped = true;
        if (!current) return;
        this.consumers.delete(current);
        await current.disconnect();
      },
    };
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.consumers].map((c) => c.disconnect()));
    await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
  }
}

function stringHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? v.map(String).join(',') : Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
  }
  return out;
}

/**
 * Repeats `work` until it succeeds or `timeoutMs` have passed (then throws its last error, saying
 * what it was): the probe's own calls right after a broker restart can fail for a while.
 */
async function retrying<T>(what: string, work: () => Promise<T>, timeoutMs = 150_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (Date.now() > deadline)
        throw new Error(`could not ${what} in ${attempt} attempts over ${timeoutMs} ms: ${(error as Error).message}`, { cause: error });
      await new Promise((r) => setTimeout(r, Math.min(500 * attempt, 5_000)));
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Polls `predicate` until it holds; the error names what was awaited and how far it got. */
export async function until(what: () => string, predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
