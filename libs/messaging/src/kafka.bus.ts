import { deadLetterTopicName, type TopicDef } from '@adseed/contracts';
import { Logger, untraced, withProducerSpan, type ServiceMetrics } from '@adseed/telemetry';
import { Kafka, logLevel, type Admin, type Consumer, type IHeaders, type KafkaConfig, type KafkaMessage, type Producer, type SASLOptions } from 'kafkajs';
import { deliver, type RawDelivery } from './delivery';
import { cloudEventHeaders, encode } from './envelope';
import { OffsetCommitter } from './kafka.commits';
import { ProduceCoalescer } from './kafka.produce';
import { fixKafkajsIdleLoop } from './kafkajs-idle-loop';
import { ConsumerWindow, runPartitionBatch } from './kafka.window';
import {
  DEFAULT_RETRY,
  type EventBus,
  type Headers,
  type IncomingMessage,
  type OutgoingMessage,
  type RetryPolicy,
  type SubscribeOptions,
  type Subscription,
} from './event-bus.port';

/** kafkajs's special offset for the earliest message a partition still holds. */
const EARLIEST = '-2';

/** The partitions a topic is created with: a per-topic setting, else the default, else the topic's own count. */
export function partitionsOf(topic: TopicDef<unknown>, settings: KafkaBusOptions['topicPartitions']): number {
  const chosen = settings?.byTopic?.[topic.name] ?? (settings?.default ? settings.default : undefined);
  return chosen !== undefined && chosen >= 1 ? chosen : topic.partitions;
}

/**
 * Partitions one consumer handles at once: a subscriber's `concurrency` where it asks for more
 * than the bus's setting (default 3). Without `concurrency`, one message per partition at a time
 * (kafkajs's eachMessage); with it, the messages of those partitions' fetched batches share the
 * subscriber's window (`runPartitionBatch`), several of one partition at once.
 */
export function partitionsConsumedAtOnce(subscriberConcurrency: number | undefined, busSetting: number | undefined): number {
  const base = busSetting ?? 3;
  return subscriberConcurrency !== undefined && subscriberConcurrency > base ? subscriberConcurrency : base;
}

export interface KafkaBusOptions {
  source: string;
  brokers: string[];
  clientId?: string;
  ssl?: boolean;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  retry?: Partial<RetryPolicy>;
  /** Partitions of the topics this bus creates: per topic name, else `default`, else the topic's own count. */
  topicPartitions?: { default?: number; byTopic?: Record<string, number> };
  /** Partitions of one topic handled at once by one consumer (order is kept within a partition). */
  partitionsConsumedConcurrently?: number;
  /**
   * How long the broker waits for a consumer's heartbeat before it hands its partitions to the
   * group's other members (default 30 s; the broker's minimum is 6 s): a consumer that died
   * without leaving holds them that long.
   */
  sessionTimeoutMs?: number;
  /**
   * How long a consumer gathers the offsets of the messages it has done before it commits them in
   * one request (default 200 ms; 0: each as soon as no commit is in flight). A consumer that dies
   * has at most that much redelivered; one that leaves, or whose group rebalances, commits first.
   */
  commitIntervalMs?: number;
  logger?: Logger;
  metrics?: ServiceMetrics;
  decorateHeaders?: (headers: Headers) => Headers;
}

/**
 * The Kafka adapter of the event bus — the only file that imports kafkajs. CloudEvents binary
 * headers, key = aggregate id, one consumer group per service, offsets committed by hand once
 * the handler (or the DLT) is done, gathered per consumer (`OffsetCommitter`). Events only: no
 * topic belongs to one instance (queries a caller waits on go over gRPC), so the bus creates only
 * the shared, versioned topics.
 */
export class KafkaEventBus implements EventBus {
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private readonly produced: ProduceCoalescer;
  private readonly admin: Admin;
  private readonly retry: RetryPolicy;
  private readonly logger: Logger;
  private readonly consumers = new Set<Consumer>();
  /** Per consumer, the eachMessage / eachBatch calls running now (see `leave`). */
  private readonly inHand = new Map<Consumer, Set<Promise<unknown>>>();
  /** Per consumer, the offsets of the messages it has done, committed every `commitIntervalMs`. */
  private readonly commits = new Map<Consumer, OffsetCommitter>();
  private readonly known = new Set<string>();
  private readonly consumed = new Map<string, { topic: string; group: string }>();
  /** Groups of `ephemeral` subscriptions still open: deleted on close. */
  private readonly ephemeral = new Set<string>();
  private connected?: Promise<void>;
  /** Set by stopConsuming() (and so close()): a consumer that crashes now is not started again. */
  private closing = false;
  private stopped?: Promise<void>;
  private closed?: Promise<void>;

  constructor(private readonly options: KafkaBusOptions) {
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.logger = options.logger ?? new Logger({ service: options.source });
    fixKafkajsIdleLoop((message) => this.logger.warn(message));
    const config: KafkaConfig = {
      clientId: options.clientId ?? `adseed-${options.source}`,
      brokers: options.brokers,
      ssl: options.ssl ?? false,
      connectionTimeout: 5_000,
      requestTimeout: 30_000,
      retry: { initialRetryTime: 300, retries: 10 },
      logLevel: logLevel.WARN,
      // kafkajs puts the broker's reason in `error` ("Response Metadata" alone says nothing).
      logCreator: () => (entry) =>
        this.logger.warn(`kafkajs: ${entry.log.message}`, { namespace: entry.namespace, ...(entry.log.error ? { reason: String(entry.log.error) } : {}) }),
      ...(options.sasl ? { sasl: options.sasl as SASLOptions } : {}),
    };
    this.kafka = new Kafka(config);
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    // The records carry their publishers' trace contexts already (`send`): the request itself is
    // not traced, or the kafkajs instrumentation would parent every record's span to whichever
    // publish happened to start the request, and overwrite the context in its headers.
    this.produced = new ProduceCoalescer((topicMessages) => untraced(() => this.producer.sendBatch({ acks: -1, topicMessages }).then(() => undefined)));
    this.admin = this.kafka.admin();
  }

  async ensureTopics(topics: TopicDef<unknown>[]): Promise<void> {
    await this.connect();
    const wanted = topics.flatMap((t) => [
      { topic: t.name, numPartitions: partitionsOf(t, this.options.topicPartitions) },
      { topic: deadLetterTopicName(t.name), numPartitions: 1 },
    ]);
    await this.createTopics(wanted);
  }

  async publish<T>(topic: TopicDef<T>, message: OutgoingMessage<T>): Promise<void> {
    await this.send(topic.name, message.key, encode(topic, message.value), this.headers(topic.name, message.headers));
  }

  async publishRaw(topic: string, message: { key: string; value: string; headers?: Headers }): Promise<void> {
    await this.send(topic, message.key, message.value, this.headers(topic, message.headers));
  }

  async subscribe<T>(topic: TopicDef<T>, options: SubscribeOptions, handler: (message: IncomingMessage<T>) => Promise<void>): Promise<Subscription> {
    return this.consume(topic.name, options, async (raw) => {
      await deliver(topic, raw, this.deliveryContext(options.group), handler);
    });
  }

  /** Lag = the partitions' high watermarks minus the group's committed offsets, per topic. */
  async reportLag(): Promise<void> {
    const gauge = this.options.metrics?.consumerLag;
    if (!gauge || this.consumed.size === 0) return;
    await this.connect();
    for (const { topic, group } of this.consumed.values()) {
      const [high, committed] = await Promise.all([this.admin.fetchTopicOffsets(topic), this.admin.fetchOffsets({ groupId: group, topics: [topic] })]);
      const done = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
      const lag = high.reduce((sum, p) => {
        const at = done.get(p.partition) ?? -1;
        return sum + Math.max(0, Number(p.high) - (at >= 0 ? at : Number(p.low)));
      }, 0);
      gauge.set({ topic, group }, lag);
    }
  }

  /**
   * On shutdown: consumers stop after the message in hand (its offset committed) and leave their
   * groups at once, so the partitions move to the other replicas now rather than after the
   * session timeout; then the producer disconnects once its in-flight sends are acknowledged.
   * Safe to call more than once.
   */
  close(): Promise<void> {
    this.closed ??= (async () => {
      await this.stopConsuming();
      await this.produced.flush();
      await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
      this.logger.info('kafka bus closed: consumers left their groups, producer flushed');
    })();
    return this.closed;
  }

  /** Consumers finish the message in hand, commit it and leave their groups (ephemeral ones are deleted); the producer stays. */
  stopConsuming(): Promise<void> {
    this.closing = true;
    this.stopped ??= (async () => {
      await Promise.allSettled([...this.consumers].map((c) => this.leave(c)));
      this.consumers.clear();
      await this.deleteGroups([...this.ephemeral]);
    })();
    return this.stopped;
  }

  /**
   * A consumer leaves its group after the messages in hand are done and committed. kafkajs skips
   * commits once its consumer is stopping (`disconnect()` stops it first, then waits for the
   * handler), so a message handled during the stop would come again to the group's next member:
   * instead the handlers take nothing new once the bus or subscription is closing, the ones in
   * hand finish and commit while kafkajs still runs, and only then does the consumer disconnect.
   */
  private async leave(consumer: Consumer): Promise<void> {
    const busy = this.inHand.get(consumer);
    while (busy && busy.size > 0) await Promise.allSettled([...busy]);
    this.inHand.delete(consumer);
    // Before the disconnect: kafkajs drops the commits of a consumer that has stopped running.
    await this.commits.get(consumer)?.flush();
    this.commits.delete(consumer);
    await consumer.disconnect();
  }

  /** A consumer that crashed or never started: nothing of it is waited for or committed any more. */
  private forget(consumer: Consumer): void {
    this.consumers.delete(consumer);
    this.inHand.delete(consumer);
    this.commits.get(consumer)?.discard();
    this.commits.delete(consumer);
  }

  private connect(): Promise<void> {
    this.connected ??= (async () => {
      await this.producer.connect();
      await this.admin.connect();
    })();
    return this.connected;
  }

  private async createTopics(topics: { topic: string; numPartitions: number }[]): Promise<void> {
    const missing = topics.filter((t) => !this.known.has(t.topic));
    if (missing.length === 0) return;
    const existing = new Set(await this.admin.listTopics());
    const create = missing.filter((t) => !existing.has(t.topic));
    if (create.length) await this.admin.createTopics({ topics: create.map((t) => ({ ...t, replicationFactor: -1 })), waitForLeaders: true });
    await this.warnFewerPartitions(missing.filter((t) => existing.has(t.topic)));
    for (const t of missing) this.known.add(t.topic);
  }

  /**
   * An existing topic keeps its partitions (adding some would move keys to other partitions
   * under running consumers): say so when it has fewer than configured, so an operator can
   * add them deliberately (`kafka-topics.sh --alter --partitions`).
   */
  private async warnFewerPartitions(existing: { topic: string; numPartitions: number }[]): Promise<void> {
    if (existing.length === 0) return;
    const metadata = await this.admin.fetchTopicMetadata({ topics: existing.map((t) => t.topic) }).catch(() => undefined);
    for (const t of metadata?.topics ?? []) {
      const wanted = existing.find((e) => e.topic === t.name)?.numPartitions ?? 0;
      if (t.partitions.length < wanted)
        this.logger.warn('topic has fewer partitions than configured; consumers beyond its partitions stay idle', {
          topic: t.name,
          partitions: t.partitions.length,
          configured: wanted,
        });
    }
  }

  /**
   * Where a new group that sees only new messages starts on a partition: its high-water mark now
   * where the group has no committed offset on it; the earliest offset on every partition of a
   * topic that does not exist yet (all its messages come after this call). `undefined` leaves
   * kafkajs's own resolution: a committed offset, or offsets that could not be read.
   */
  private async startPositions(groupId: string, topic: string): Promise<(partition: number) => string | undefined> {
    try {
      if (!(await this.admin.listTopics()).includes(topic)) return () => EARLIEST;
      const [high, [committed]] = await Promise.all([this.admin.fetchTopicOffsets(topic), this.admin.fetchOffsets({ groupId, topics: [topic] })]);
      const started = new Set((committed?.partitions ?? []).filter((p) => Number(p.offset) >= 0).map((p) => p.partition));
      const at = new Map(high.filter((p) => !started.has(p.partition)).map((p) => [p.partition, p.high]));
      return (partition) => at.get(partition);
    } catch (error) {
      this.logger.warn('kafka: could not read where a new group starts; kafkajs resolves it at its first fetch', { group: groupId, topic, error });
      return () => undefined;
    }
  }

  /**
   * One PRODUCER span per record (`<topic> publish`, a child of the publisher's active span, as on
   * the in-process bus), its context in the record's headers; it ends when the coalesced request
   * carrying the record is acknowledged. The kafkajs instrumentation continues it on the consumer side.
   */
  private async send(topic: string, key: string, value: string, headers: Headers): Promise<void> {
    await this.connect();
    await withProducerSpan({ system: 'kafka', topic, service: this.options.source, messageId: headers.ce_id, key }, headers, (traced) =>
      this.produced.send(topic, { key, value, headers: traced }),
    );
  }

  private async consume(topic: string, options: SubscribeOptions, handle: (raw: RawDelivery) => Promise<void>): Promise<Subscription> {
    // Stopped: a consumer joining now would hold partitions without taking anything from them.
    if (this.closing) return { close: async () => undefined };
    await this.connect();
    // One Kafka group per (service group, topic): kafkajs's assigner expects every member of a group
    // to subscribe to the same topics, so one group across several topics leaves partitions unread.
    const groupId = kafkaGroupId(options.group, topic);
    this.consumed.set(groupId, { topic, group: groupId });
    if (options.ephemeral) this.ephemeral.add(groupId);
    let consumer: Consumer | undefined;
    let closed = false;
    let markAssigned: () => void = () => undefined;
    const assigned = new Promise<void>((resolve) => (markAssigned = resolve));
    const start = async (): Promise<void> => {
      const sessionTimeout = this.options.sessionTimeoutMs ?? 30_000;
      const heartbeatInterval = Math.min(3_000, Math.floor(sessionTimeout / 3));
      const current = this.kafka.consumer({ groupId, allowAutoTopicCreation: false, sessionTimeout, heartbeatInterval });
      consumer = current;
      this.consumers.add(current);
      const busy = new Set<Promise<unknown>>();
      this.inHand.set(current, busy);
      const commits = new OffsetCommitter(
        (offsets) => current.commitOffsets(offsets),
        // Redelivered from the last accepted commit (a rebalance, a consumer restarting): at least once still.
        (error, offsets) => this.logger.warn('kafka offset commit failed; those messages may be delivered again', { group: groupId, offsets, error }),
        this.options.commitIntervalMs ?? 200,
      );
      this.commits.set(current, commits);
      /** Runs one eachMessage / eachBatch call, known to `leave` until it is done. */
      const inHand = async (work: () => Promise<void>): Promise<void> => {
        const running = work();
        busy.add(running);
        try {
          await running;
        } finally {
          busy.delete(running);
        }
      };
      const stopping = () => closed || this.closing;
      // A new group that only sees new messages sees those published after subscribe() was
      // called. kafkajs would resolve "latest" at its first fetch after the join, so a message
      // published between `assigned` and that fetch would be skipped: pin the start instead to the
      // high-water marks read now, for the partitions this group has committed nothing on.
      const startAt = options.fromBeginning === false ? await this.startPositions(groupId, topic) : () => undefined;
      const pinned = new Set<number>();
      // Listen before run(): run() may join the group before it returns. The event is emitted
      // synchronously between the join and the first fetch, so the seeks apply to that fetch.
      // Each partition is pinned once: after a rebalance the group's commits say where it is.
      current.on(current.events.GROUP_JOIN, (event) => {
        for (const partition of event.payload.memberAssignment[topic] ?? []) {
          const offset = pinned.has(partition) ? undefined : startAt(partition);
          if (offset === undefined) continue;
          current.seek({ topic, partition, offset });
          pinned.add(partition);
        }
        markAssigned();
      });
      // A member joined or left: commit what this one has done now, while the coordinator still
      // takes this generation's commits (it does until the group has rejoined), so the partitions
      // that move are not handled again from an older commit.
      current.on(current.events.REBALANCING, () => void commits.flush());
      current.on(current.events.CRASH, (event) => {
        if (event.payload.restart || closed || this.closing) return;
        // kafkajs restarts a consumer after a retriable error only; after another (e.g. "Failed to
        // find group coordinator" while the broker restarts) the consumer stays stopped and the
        // process keeps running without it. Start a new one in the same group: it resumes from the
        // committed offsets, so nothing is lost and redeliveries stay idempotent.
        this.logger.error('kafka consumer crashed and was not restarted by kafkajs: starting a new one', { group: groupId, topic, error: event.payload.error });
        this.forget(current);
        void current
          .disconnect()
          .catch(() => undefined)
          .then(() => restart());
      });
      try {
        await current.connect();
        await current.subscribe({ topic, fromBeginning: options.fromBeginning ?? true });
        const partitionsConsumedConcurrently = partitionsConsumedAtOnce(options.concurrency, this.options.partitionsConsumedConcurrently);
        const toRaw = (t: string, partition: number, message: KafkaMessage): RawDelivery => ({
          topic: t,
          partition,
          offset: Number(message.offset),
          key: message.key?.toString('utf8') ?? '',
          value: message.value?.toString('utf8') ?? '',
          headers: stringHeaders(message.headers),
        });
        if (options.concurrency !== undefined) {
          // The subscriber's window, shared by the partitions this consumer holds: several messages
          // of one partition at once (a key's one at a time), committed up to the first not done.
          const window = new ConsumerWindow(options.concurrency);
          await current.run({
            autoCommit: false,
            eachBatchAutoResolve: false,
            partitionsConsumedConcurrently,
            eachBatch: (payload) =>
              inHand(async () => {
                const { batch } = payload;
                const { topic: t, partition } = batch;
                const messages = batch.messages.map((message) => ({ message, offset: message.offset, key: message.key?.toString('utf8') ?? '' }));
                await runPartitionBatch({
                  messages,
                  window,
                  handle: ({ message }) => handle(toRaw(t, partition, message)),
                  progress: async ({ offset }) => {
                    payload.resolveOffset(offset);
                    commits.done(t, partition, offset);
                  },
                  admitting: () => !stopping() && payload.isRunning() && !payload.isStale(),
                  heartbeat: () => payload.heartbeat(),
                  heartbeatEveryMs: heartbeatInterval,
                });
              }),
          });
        } else {
          await current.run({
            autoCommit: false,
            partitionsConsumedConcurrently,
            // eslint-disable-next-line @typescript-eslint/unbound-method -- kafkajs hands each message a heartbeat closure, not a method
            eachMessage: ({ topic: t, partition, message, heartbeat }) =>
              inHand(async () => {
                // Closing: left uncommitted, for the group's next member.
                if (stopping()) return;
                const beat = setInterval(() => void heartbeat().catch(() => undefined), heartbeatInterval);
                try {
                  await handle(toRaw(t, partition, message));
                } finally {
                  clearInterval(beat);
                }
                // Only now is the message done with (handled or dead-lettered): commit past it.
                commits.done(t, partition, message.offset);
              }),
          });
        }
      } catch (error) {
        this.forget(current);
        await current.disconnect().catch(() => undefined);
        throw error;
      }
    };
    const restart = async (): Promise<void> => {
      for (let attempt = 1; !closed && !this.closing; attempt++) {
        try {
          await start();
          // close() may have run while start() was joining: it did not see this consumer.
          if (closed || this.closing) {
            const late = consumer;
            if (late) {
              this.consumers.delete(late);
              await late.disconnect().catch(() => undefined);
            }
            return;
          }
          this.logger.info('kafka consumer started again', { group: groupId, topic, attempt });
          return;
        } catch (error) {
          this.logger.warn('kafka consumer could not start again; retrying', { group: groupId, topic, attempt, error });
          await new Promise((r) => setTimeout(r, Math.min(1_000 * attempt, 10_000)));
        }
      }
    };
    await start();
    return {
      assigned,
      close: async () => {
        closed = true;
        if (!consumer) return;
        this.consumers.delete(consumer);
        await this.leave(consumer);
        if (options.ephemeral && this.ephemeral.has(groupId)) await this.deleteGroups([groupId]);
      },
    };
  }

  /**
   * Deletes ephemeral groups whose consumers have left (their LeaveGroup is sent on disconnect).
   * A group the broker still counts a member in (GROUP_NOT_EMPTY right after the leave) is tried
   * once more; a group that cannot be deleted is logged and left to `offsets.retention.minutes`.
   */
  private async deleteGroups(groups: string[]): Promise<void> {
    for (const group of groups) {
      this.ephemeral.delete(group);
      this.consumed.delete(group);
    }
    let left = groups;
    for (let attempt = 1; left.length > 0; attempt++) {
      const results = await this.admin.deleteGroups(left).catch((error: unknown) => {
        // kafkajs rejects with the per-group results when any of them failed
        const groups = (error as { groups?: { groupId: string; errorCode: number; error?: unknown }[] }).groups;
        return groups ?? left.map((groupId) => ({ groupId, errorCode: -1, error }));
      });
      // 69 GROUP_ID_NOT_FOUND: gone already
      const failed = results.filter((r) => r.errorCode !== 0 && r.errorCode !== 69);
      if (failed.length === 0) {
        this.logger.info('ephemeral consumer groups deleted', { groups: left });
        return;
      }
      if (attempt >= 2) {
        this.logger.warn('ephemeral consumer groups could not be deleted', {
          groups: failed.map((f) => ({ group: f.groupId, errorCode: f.errorCode, error: f.error instanceof Error ? f.error.message : f.error })),
        });
        return;
      }
      left = failed.map((f) => f.groupId);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  private headers(topic: string, extra?: Headers): Headers {
    const headers = cloudEventHeaders(topic, this.options.source, extra);
    return this.options.decorateHeaders ? this.options.decorateHeaders(headers) : headers;
  }

  private deliveryContext(group: string) {
    return {
      group,
      retry: this.retry,
      logger: this.logger,
      metrics: this.options.metrics,
      system: 'kafka' as const,
      service: this.options.source,
      deadLetter: async (dlt: string, message: { key: string; value: string; headers: Headers }) => {
        await this.createTopics([{ topic: dlt, numPartitions: 1 }]);
        await this.send(dlt, message.key, message.value, message.headers);
      },
    };
  }
}

/** The Kafka consumer group of a service's subscription to one topic, e.g. `embedding.adseed.asset.embedded.v1`. */
export const kafkaGroupId = (group: string, topic: string): string => `${group}.${topic}`;

function stringHeaders(headers: IHeaders | undefined): Headers {
  const out: Headers = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? v.map(String).join(',') : Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
  }
  return out;
}
