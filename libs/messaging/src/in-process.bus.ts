import type { TopicDef } from '@adseed/contracts';
import { Logger, withProducerSpan, type ServiceMetrics } from '@adseed/telemetry';
import { deliver, type RawDelivery } from './delivery';
import { cloudEventHeaders, encode } from './envelope';
import {
  DEFAULT_RETRY,
  H,
  type EventBus,
  type Headers,
  type IncomingMessage,
  type OutgoingMessage,
  type RetryPolicy,
  type SubscribeOptions,
  type Subscription,
} from './event-bus.port';
import { InProcessBroker } from './in-process.broker';

export interface InProcessBusOptions {
  /** The service name, used as the CloudEvents source. */
  source: string;
  broker: InProcessBroker;
  retry?: Partial<RetryPolicy>;
  logger?: Logger;
  metrics?: ServiceMetrics;
  /** Adds headers to every outgoing message (trace context). */
  decorateHeaders?: (headers: Headers) => Headers;
}

/**
 * One service's client of the in-process broker: the embedded twin of the Kafka adapter, with
 * the same delivery contract (see `deliver`). Queries a caller waits on are not events: they go
 * through the query port (`@adseed/platform`), never the bus.
 */
export class InProcessEventBus implements EventBus {
  private readonly retry: RetryPolicy;
  private readonly logger: Logger;
  private readonly subscriptions = new Set<Subscription>();
  private readonly consumed: { topic: string; group: string }[] = [];
  /** Set by stopConsuming() (and so close()): a subscription made later takes nothing, as on Kafka. */
  private stopped = false;

  constructor(private readonly options: InProcessBusOptions) {
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.logger = options.logger ?? new Logger({ service: options.source });
  }

  async ensureTopics(topics: TopicDef<unknown>[]): Promise<void> {
    for (const topic of topics) this.options.broker.createTopic(topic.name, topic.partitions);
  }

  async publish<T>(topic: TopicDef<T>, message: OutgoingMessage<T>): Promise<void> {
    this.options.broker.createTopic(topic.name, topic.partitions);
    this.send(topic.name, message.key, encode(topic, message.value), message.headers, topic.schema);
  }

  async publishRaw(topic: string, message: { key: string; value: string; headers?: Headers }): Promise<void> {
    this.send(topic, message.key, message.value, message.headers);
  }

  async subscribe<T>(topic: TopicDef<T>, options: SubscribeOptions, handler: (message: IncomingMessage<T>) => Promise<void>): Promise<Subscription> {
    this.options.broker.createTopic(topic.name, topic.partitions);
    if (this.stopped) return { close: async () => undefined };
    this.consumed.push({ topic: topic.name, group: options.group });
    // Deliveries being handled: leaving the group stops new ones at once, and the subscription's
    // close() waits for these, as a Kafka consumer finishes and commits the message in hand.
    const inHand = new Set<Promise<void>>();
    const leave = this.options.broker.join(topic.name, options.group, {
      fromBeginning: options.fromBeginning ?? true,
      ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
      deliver: (raw: RawDelivery) => {
        const delivery = deliver(topic, raw, this.deliveryContext(options.group), handler).then(() => undefined);
        inHand.add(delivery);
        const done = () => void inHand.delete(delivery);
        delivery.then(done, done);
        return delivery;
      },
    });
    return this.track(leave, inHand);
  }

  /** Every subscription leaves its group at once, then the deliveries in hand finish (and commit). */
  async stopConsuming(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.subscriptions].map((subscription) => subscription.close()));
  }

  /** Publishing needs nothing closed here: the broker (and its journal) belongs to the process. */
  async close(): Promise<void> {
    await this.stopConsuming();
  }

  /** Sets the consumer-lag gauge for every topic and group this client consumes (call on scrape). */
  reportLag(): void {
    for (const { topic, group } of this.consumed) this.options.metrics?.consumerLag.set({ topic, group }, this.options.broker.lag(topic, group));
  }

  private track(leave: () => void, inHand: Set<Promise<void>>): Subscription {
    const subscription: Subscription = {
      close: async () => {
        leave();
        this.subscriptions.delete(subscription);
        await Promise.allSettled([...inHand]);
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  private headers(topic: string, extra?: Headers): Headers {
    const headers = cloudEventHeaders(topic, this.options.source, extra);
    return this.options.decorateHeaders ? this.options.decorateHeaders(headers) : headers;
  }

  /** Appends inside a PRODUCER span whose trace context travels in the message's headers. */
  private send(topic: string, key: string, value: string, extra?: Headers, validatedBy?: unknown): void {
    const headers = this.headers(topic, extra);
    const info = { system: 'in-process', topic, service: this.options.source, messageId: headers[H.id], key } as const;
    withProducerSpan(info, headers, (traced) =>
      this.options.broker.append(topic, { key, value, headers: traced, ...(validatedBy !== undefined ? { validatedBy } : {}) }),
    );
  }

  private deliveryContext(group: string) {
    return {
      group,
      retry: this.retry,
      logger: this.logger,
      metrics: this.options.metrics,
      system: 'in-process' as const,
      service: this.options.source,
      deadLetter: async (dlt: string, message: { key: string; value: string; headers: Headers }) => {
        this.options.broker.append(dlt, message);
      },
    };
  }
}
