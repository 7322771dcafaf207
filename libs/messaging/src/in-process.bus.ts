import { randomUUID } from 'node:crypto';
import type { RouteDef, TopicDef } from '@adseed/contracts';
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
  type RequestOptions,
  type RetryPolicy,
  type SubscribeOptions,
  type Subscription,
} from './event-bus.port';
import { PendingReplies, produceReply, replyHeaders } from './request-reply';
import { InProcessBroker } from './in-process.broker';

export interface InProcessBusOptions {
  /** The service name, used as the CloudEvents source. */
  source: string;
  broker: InProcessBroker;
  retry?: Partial<RetryPolicy>;
  requestTimeoutMs?: number;
  logger?: Logger;
  metrics?: ServiceMetrics;
  /** Adds headers to every outgoing message (trace context). */
  decorateHeaders?: (headers: Headers) => Headers;
}

/**
 * Requests and replies are not journalled: after a crash nobody waits for a reply any more, and
 * replaying a request would redo its work (a generation) for no one. A request topic is marked
 * by the first `request` or `respond` on it, before anything is published there.
 */
const REQUEST_REPLY = { journal: false } as const;

/**
 * One service's client of the in-process broker: the embedded twin of the Kafka adapter, with
 * the same delivery contract (see `deliver`) and the same request/reply envelope.
 */
export class InProcessEventBus implements EventBus {
  private readonly retry: RetryPolicy;
  private readonly logger: Logger;
  private readonly replies = new PendingReplies();
  private readonly replyTopic: string;
  private replySubscription?: Promise<Subscription>;
  private readonly subscriptions = new Set<Subscription>();
  private readonly consumed: { topic: string; group: string }[] = [];

  constructor(private readonly options: InProcessBusOptions) {
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.logger = options.logger ?? new Logger({ service: options.source });
    this.replyTopic = `adseed.reply.${options.source}-${randomUUID().slice(0, 8)}`;
  }

  async ensureTopics(topics: TopicDef<unknown>[]): Promise<void> {
    for (const topic of topics) this.options.broker.createTopic(topic.name, topic.partitions);
  }

  async publish<T>(topic: TopicDef<T>, message: OutgoingMessage<T>): Promise<void> {
    this.options.broker.createTopic(topic.name, topic.partitions);
    this.send(topic.name, message.key, encode(topic, message.value), message.headers);
  }

  async publishRaw(topic: string, message: { key: string; value: string; headers?: Headers }): Promise<void> {
    this.send(topic, message.key, message.value, message.headers);
  }

  async subscribe<T>(topic: TopicDef<T>, options: SubscribeOptions, handler: (message: IncomingMessage<T>) => Promise<void>): Promise<Subscription> {
    this.options.broker.createTopic(topic.name, topic.partitions);
    this.consumed.push({ topic: topic.name, group: options.group });
    const leave = this.options.broker.join(topic.name, options.group, {
      fromBeginning: options.fromBeginning ?? true,
      deliver: async (raw: RawDelivery) => {
        await deliver(topic, raw, this.deliveryContext(options.group), handler);
      },
    });
    return this.track(leave);
  }

  async request<Req, Res>(route: RouteDef<Req, Res>, message: OutgoingMessage<Req>, options?: RequestOptions): Promise<Res> {
    await this.ensureReplySubscription();
    this.options.broker.createTopic(route.request.name, route.request.partitions, REQUEST_REPLY);
    const { correlationId, reply } = this.replies.open(route, options?.timeoutMs ?? this.options.requestTimeoutMs ?? 30_000);
    try {
      await this.publish(route.request, {
        ...message,
        headers: { ...message.headers, [H.correlationId]: correlationId, [H.replyTo]: this.replyTopic },
      });
    } catch (error) {
      this.replies.fail(correlationId, error as Error);
    }
    return reply;
  }

  async respond<Req, Res>(route: RouteDef<Req, Res>, options: SubscribeOptions, handler: (message: IncomingMessage<Req>) => Promise<Res>): Promise<Subscription> {
    this.options.broker.createTopic(route.request.name, route.request.partitions, REQUEST_REPLY);
    this.consumed.push({ topic: route.request.name, group: options.group });
    const leave = this.options.broker.join(route.request.name, options.group, {
      fromBeginning: true,
      deliver: async (raw: RawDelivery) => {
        const replyTo = raw.headers[H.replyTo];
        const outcome = await deliver(route.request, raw, this.deliveryContext(options.group), async (message) => {
          const value = await produceReply(route, message, handler);
          if (replyTo) this.send(replyTo, raw.key, value, replyHeaders(raw.headers));
        });
        if (outcome === 'dead-lettered' && replyTo) {
          const error = { status: 400, code: 'invalid_request', message: `request on ${route.request.name} was rejected (see its DLT)` };
          this.options.broker.append(replyTo, { key: raw.key, value: JSON.stringify({ ok: false, error }), headers: replyHeaders(raw.headers) });
        }
      },
    });
    return this.track(leave);
  }

  async close(): Promise<void> {
    for (const subscription of [...this.subscriptions]) await subscription.close();
    this.replies.rejectAll(new Error('bus closed'));
  }

  /** Sets the consumer-lag gauge for every topic and group this client consumes (call on scrape). */
  reportLag(): void {
    for (const { topic, group } of this.consumed) this.options.metrics?.consumerLag.set({ topic, group }, this.options.broker.lag(topic, group));
  }

  private ensureReplySubscription(): Promise<Subscription> {
    this.replySubscription ??= (async () => {
      this.options.broker.createTopic(this.replyTopic, 1, REQUEST_REPLY);
      const leave = this.options.broker.join(this.replyTopic, this.replyTopic, {
        fromBeginning: false,
        deliver: async (raw) => this.replies.settle(raw.headers, raw.value),
      });
      return this.track(leave);
    })();
    return this.replySubscription;
  }

  private track(leave: () => void): Subscription {
    const subscription: Subscription = {
      close: async () => {
        leave();
        this.subscriptions.delete(subscription);
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
  private send(topic: string, key: string, value: string, extra?: Headers): void {
    const headers = this.headers(topic, extra);
    const info = { system: 'in-process', topic, service: this.options.source, messageId: headers[H.id], key } as const;
    withProducerSpan(info, headers, (traced) => this.options.broker.append(topic, { key, value, headers: traced }));
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
