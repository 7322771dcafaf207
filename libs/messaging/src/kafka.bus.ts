import { randomUUID } from 'node:crypto';
import { deadLetterTopicName, type RouteDef, type TopicDef } from '@adseed/contracts';
import { Logger, withProducerSpan, type ServiceMetrics } from '@adseed/telemetry';
import { Kafka, logLevel, type Admin, type Consumer, type IHeaders, type KafkaConfig, type Producer, type SASLOptions } from 'kafkajs';
import { deliver, type RawDelivery } from './delivery';
import { cloudEventHeaders, encode } from './envelope';
import {
  DEFAULT_RETRY,
  H,
  type EventBus,
  type Headers,
  type IncomingMessage,
  type OutgoingMessage,
  type RequestOptions,
  type RetryPolicy,
  type SubscribeOptions,
  type Subscription,
} from './event-bus.port';
import { PendingReplies, produceReply, replyHeaders } from './request-reply';

/** The partitions a topic is created with: a per-topic setting, else the default, else the topic's own count. */
export function partitionsOf(topic: TopicDef<unknown>, settings: KafkaBusOptions['topicPartitions']): number {
  const chosen = settings?.byTopic?.[topic.name] ?? (settings?.default ? settings.default : undefined);
  return chosen !== undefined && chosen >= 1 ? chosen : topic.partitions;
}

export interface KafkaBusOptions {
  source: string;
  brokers: string[];
  clientId?: string;
  ssl?: boolean;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  retry?: Partial<RetryPolicy>;
  requestTimeoutMs?: number;
  /** Partitions of the topics this bus creates: per topic name, else `default`, else the topic's own count. */
  topicPartitions?: { default?: number; byTopic?: Record<string, number> };
  /** Partitions of one topic handled at once by one consumer (order is kept within a partition). */
  partitionsConsumedConcurrently?: number;
  logger?: Logger;
  metrics?: ServiceMetrics;
  decorateHeaders?: (headers: Headers) => Headers;
}

/**
 * The Kafka adapter of the event bus — the only file that imports kafkajs. CloudEvents binary
 * headers, key = aggregate id, one consumer group per service, offsets committed by hand after
 * the handler (or the DLT) is done, and request/reply over a reply topic owned by this instance.
 */
export class KafkaEventBus implements EventBus {
  private readonly kafka: Kafka;
  /** Replies' own client: kafkajs takes metadata retries from the client, not the producer. */
  private readonly replyKafka: Kafka;
  private readonly producer: Producer;
  private readonly admin: Admin;
  private readonly retry: RetryPolicy;
  private readonly logger: Logger;
  private readonly replies = new PendingReplies();
  private readonly replyTopic: string;
  private readonly consumers = new Set<Consumer>();
  private readonly known = new Set<string>();
  private readonly consumed = new Map<string, { topic: string; group: string }>();
  private connected?: Promise<void>;
  /** Set by close(): a consumer that crashes now is not started again. */
  private closing = false;
  private replyConsumer?: Promise<void>;
  private replyProducer?: Promise<Producer>;

  constructor(private readonly options: KafkaBusOptions) {
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.logger = options.logger ?? new Logger({ service: options.source });
    const config: KafkaConfig = {
      clientId: options.clientId ?? `adseed-${options.source}`,
      brokers: options.brokers,
      ssl: options.ssl ?? false,
      connectionTimeout: 5_000,
      requestTimeout: 30_000,
      retry: { initialRetryTime: 300, retries: 10 },
      logLevel: logLevel.WARN,
      // kafkajs puts the broker's reason in `error` ("Response Metadata" alone says nothing).
      logCreator: () => (entry) => this.logger.warn(`kafkajs: ${entry.log.message}`, { namespace: entry.namespace, ...(entry.log.error ? { reason: String(entry.log.error) } : {}) }),
      ...(options.sasl ? { sasl: options.sasl as SASLOptions } : {}),
    };
    this.kafka = new Kafka(config);
    // Few retries: a reply is only useful within the requester's timeout.
    this.replyKafka = new Kafka({ ...config, retry: { initialRetryTime: 200, retries: 3 } });
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    this.admin = this.kafka.admin();
    this.replyTopic = `adseed.reply.${options.source}-${randomUUID().slice(0, 8)}`;
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
    await this.sendTraced(topic.name, message.key, encode(topic, message.value), message.headers);
  }

  async publishRaw(topic: string, message: { key: string; value: string; headers?: Headers }): Promise<void> {
    await this.sendTraced(topic, message.key, message.value, message.headers);
  }

  async subscribe<T>(topic: TopicDef<T>, options: SubscribeOptions, handler: (message: IncomingMessage<T>) => Promise<void>): Promise<Subscription> {
    return this.consume(topic.name, options, async (raw) => {
      await deliver(topic, raw, this.deliveryContext(options.group), handler);
    });
  }

  async request<Req, Res>(route: RouteDef<Req, Res>, message: OutgoingMessage<Req>, options?: RequestOptions): Promise<Res> {
    await this.ensureReplyConsumer();
    const { correlationId, reply } = this.replies.open(route, options?.timeoutMs ?? this.options.requestTimeoutMs ?? 30_000);
    try {
      await this.publish(route.request, { ...message, headers: { ...message.headers, [H.correlationId]: correlationId, [H.replyTo]: this.replyTopic } });
    } catch (error) {
      this.replies.fail(correlationId, error as Error);
    }
    return reply;
  }

  async respond<Req, Res>(route: RouteDef<Req, Res>, options: SubscribeOptions, handler: (message: IncomingMessage<Req>) => Promise<Res>): Promise<Subscription> {
    return this.consume(route.request.name, options, async (raw) => {
      const replyTo = raw.headers[H.replyTo];
      const outcome = await deliver(route.request, raw, this.deliveryContext(options.group), async (message) => {
        const value = await produceReply(route, message, handler);
        if (replyTo) await this.sendTraced(replyTo, raw.key, value, replyHeaders(raw.headers), (...args) => this.sendReply(...args));
      });
      if (outcome === 'dead-lettered' && replyTo) {
        const error = { status: 400, code: 'invalid_request', message: `request on ${route.request.name} was rejected (see its DLT)` };
        await this.sendReply(replyTo, raw.key, JSON.stringify({ ok: false, error }), replyHeaders(raw.headers));
      }
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

  async close(): Promise<void> {
    this.closing = true;
    this.replies.rejectAll(new Error('bus closed'));
    await Promise.allSettled([...this.consumers].map((c) => c.disconnect()));
    if (this.replyConsumer) await this.admin.deleteTopics({ topics: [this.replyTopic] }).catch(() => undefined);
    const replyProducer = this.replyProducer;
    this.replyProducer = undefined;
    await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect(), replyProducer?.then((p) => p.disconnect())]);
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
      if (t.partitions.length < wanted) this.logger.warn('topic has fewer partitions than configured; consumers beyond its partitions stay idle', { topic: t.name, partitions: t.partitions.length, configured: wanted });
    }
  }

  private async send(topic: string, key: string, value: string, headers: Headers): Promise<void> {
    await this.connect();
    await this.producer.send({ topic, acks: -1, messages: [{ key, value, headers }] });
  }

  /** Sends inside a PRODUCER span whose trace context travels in the message's headers. */
  private sendTraced(topic: string, key: string, value: string, extra?: Headers, send = (t: string, k: string, v: string, h: Headers) => this.send(t, k, v, h)): Promise<void> {
    const headers = this.headers(topic, extra);
    const info = { system: 'kafka', topic, service: this.options.source, messageId: headers[H.id], key } as const;
    return withProducerSpan(info, headers, (traced) => send(topic, key, value, traced));
  }

  /**
   * Replies go out on a producer of their own. A requester deletes its reply topic when it stops,
   * and a kafkajs producer that ever wrote to a since-deleted topic fails every later metadata
   * refresh, so every send to a topic it has not written to before (kafkajs 2.2.4): one restarted
   * gateway would otherwise stop this service from replying to anyone, or dead-lettering. So a
   * failed reply replaces the reply producer and is tried once more on the new one; a reply
   * that still fails is dropped (its requester is gone or times out), never retried for minutes
   * while the request's partition waits.
   */
  private async sendReply(topic: string, key: string, value: string, headers: Headers): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const current = (this.replyProducer ??= this.connectReplyProducer());
      try {
        await (await current).send({ topic, acks: -1, messages: [{ key, value, headers }] });
        return;
      } catch (error) {
        if (this.replyProducer === current) this.replyProducer = undefined;
        void current.then((p) => p.disconnect()).catch(() => undefined);
        if (attempt >= 2) {
          this.logger.warn('reply dropped: its reply topic is gone or the broker is unreachable', { topic, correlationId: headers[H.correlationId], error });
          return;
        }
      }
    }
  }

  private async connectReplyProducer(): Promise<Producer> {
    const producer = this.replyKafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    return producer;
  }

  private async consume(topic: string, options: SubscribeOptions, handle: (raw: RawDelivery) => Promise<void>): Promise<Subscription> {
    await this.connect();
    // One Kafka group per (service group, topic): kafkajs's assigner expects every member of a group
    // to subscribe to the same topics, so one group across several topics leaves partitions unread.
    const groupId = kafkaGroupId(options.group, topic);
    if (!topic.startsWith('adseed.reply.')) this.consumed.set(groupId, { topic, group: groupId });
    let consumer: Consumer | undefined;
    let closed = false;
    let markAssigned: () => void = () => undefined;
    const assigned = new Promise<void>((resolve) => (markAssigned = resolve));
    const start = async (): Promise<void> => {
      const current = this.kafka.consumer({ groupId, allowAutoTopicCreation: false, sessionTimeout: 30_000, heartbeatInterval: 3_000 });
      consumer = current;
      this.consumers.add(current);
      // Listen before run(): run() may join the group before it returns.
      current.on(current.events.GROUP_JOIN, () => markAssigned());
      current.on(current.events.CRASH, (event) => {
        if (event.payload.restart || closed || this.closing) return;
        // kafkajs restarts a consumer after a retriable error only; after another (e.g. "Failed to
        // find group coordinator" while the broker restarts) the consumer stays stopped and the
        // process keeps running without it. Start a new one in the same group: it resumes from the
        // committed offsets, so nothing is lost and redeliveries stay idempotent.
        this.logger.error('kafka consumer crashed and was not restarted by kafkajs: starting a new one', { group: groupId, topic, error: event.payload.error });
        this.consumers.delete(current);
        void current
          .disconnect()
          .catch(() => undefined)
          .then(() => restart());
      });
      try {
        await current.connect();
        await current.subscribe({ topic, fromBeginning: options.fromBeginning ?? true });
        await current.run({
          autoCommit: false,
          partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 3,
          // eslint-disable-next-line @typescript-eslint/unbound-method -- kafkajs hands each message a heartbeat closure, not a method
          eachMessage: async ({ topic: t, partition, message, heartbeat }) => {
            const beat = setInterval(() => void heartbeat().catch(() => undefined), 3_000);
            try {
              await handle({ topic: t, partition, offset: Number(message.offset), key: message.key?.toString('utf8') ?? '', value: message.value?.toString('utf8') ?? '', headers: stringHeaders(message.headers) });
            } finally {
              clearInterval(beat);
            }
            // Only now is the message done with (handled or dead-lettered): commit past it.
            await current.commitOffsets([{ topic: t, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
          },
        });
      } catch (error) {
        this.consumers.delete(current);
        await current.disconnect().catch(() => undefined);
        throw error;
      }
    };
    const restart = async (): Promise<void> => {
      for (let attempt = 1; !closed && !this.closing; attempt++) {
        try {
          await start();
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
        await consumer.disconnect();
      },
    };
  }

  private ensureReplyConsumer(): Promise<void> {
    this.replyConsumer ??= (async () => {
      await this.connect();
      await this.createTopics([{ topic: this.replyTopic, numPartitions: 1 }]);
      // The reply topic is new and ours alone, so reading it from the beginning misses nothing.
      await this.consume(this.replyTopic, { group: this.replyTopic, fromBeginning: true }, async (raw) => this.replies.settle(raw.headers, raw.value));
    })();
    return this.replyConsumer;
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
export const kafkaGroupId = (group: string, topic: string): string => (topic.startsWith('adseed.reply.') ? group : `${group}.${topic}`);

function stringHeaders(headers: IHeaders | undefined): Headers {
  const out: Headers = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? v.map(String).join(',') : Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
  }
  return out;
}
