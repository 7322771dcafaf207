import type { RemoteErrorPayload, TopicDef } from '@adseed/contracts';

export type Headers = Record<string, string>;

export interface OutgoingMessage<T> {
  /** The aggregate id (asset id, conversation id): one key, one partition, in order. */
  key: string;
  value: T;
  headers?: Headers;
}

export interface IncomingMessage<T> {
  topic: string;
  partition: number;
  offset: number;
  key: string;
  value: T;
  headers: Headers;
  /** 1 on first delivery, counts up on redelivery after a failure. */
  attempt: number;
}

export interface SubscribeOptions {
  /** Consumer group: each group sees every message once; members of a group share partitions. */
  group: string;
  /**
   * A new group starts at the oldest retained message (default) or only sees new ones: every
   * message published after `subscribe()` was called, none before (a group that committed
   * offsets already resumes from them either way).
   */
  fromBeginning?: boolean;
  /**
   * The group is this one process's own (a per-replica live view, every replica seeing every
   * message): it is deleted when the subscription or the bus closes, so restarts and rollouts
   * leave no group behind. Kafka: the group is deleted once its consumer has left it (a process
   * killed without closing leaves it to the broker's `offsets.retention.minutes`); the in-process
   * bus drops a group that starts at new messages when its last member leaves anyway.
   */
  ephemeral?: boolean;
  /**
   * Most messages this subscriber handles at once, across the partitions it holds (default: one
   * per partition at a time). Messages with the same key are still handled one after another in
   * publish order, and a partition's offset is committed only up to its first message not yet
   * done, so a crash re-delivers what was in flight (at-least-once). For a handler that batches
   * (the encoders): with keys spread unevenly over partitions, one per partition leaves its
   * batches part-empty; a window of twice the batch size fills them. On Kafka the window spans
   * the batches one fetch returned for the partitions the consumer holds, several messages of a
   * partition at once (kafkajs fetches again once every batch of the previous fetch is done).
   */
  concurrency?: number;
}

export interface Subscription {
  /**
   * Leaves the group: no message is handed out after the call, and it resolves once the messages
   * in hand are handled and committed (a handler must not await its own subscription's close).
   */
  close(): Promise<void>;
  /**
   * Resolves once messages reach the handler (Kafka: the consumer group has joined and holds its
   * partitions). A subscription that starts at new messages misses what is published before this.
   * Absent where delivery starts at once (the in-process bus).
   */
  readonly assigned?: Promise<void>;
}

/**
 * The event bus port. Two adapters implement it: the in-process bus (one process, no servers)
 * and Kafka. Both validate every payload against its topic's schema, both send a message that
 * fails validation or keeps failing to the topic's `.dlt` twin with the reason in a header,
 * and both commit a consumer's offset only after its handler finished. Events only: a query a
 * caller waits on goes through the query port (gRPC between processes), never the bus.
 */
export interface EventBus {
  ensureTopics(topics: TopicDef<unknown>[]): Promise<void>;
  publish<T>(topic: TopicDef<T>, message: OutgoingMessage<T>): Promise<void>;
  /** Publishes bytes as they are, unvalidated: how data teams' and foreign events arrive. */
  publishRaw(topic: string, message: { key: string; value: string; headers?: Headers }): Promise<void>;
  subscribe<T>(topic: TopicDef<T>, options: SubscribeOptions, handler: (message: IncomingMessage<T>) => Promise<void>): Promise<Subscription>;
  /** Refreshes the consumer-lag gauge (messages not yet committed, per topic and group); called on scrape. */
  reportLag?(): Promise<void> | void;
  /**
   * Stops taking messages: each consumer finishes the message in hand (its offset committed) and
   * leaves its group; publishing still works. A stopping service calls this before it closes what
   * its handlers use (encoders, index), so no handler runs against a closed resource; a
   * subscription made after it takes nothing. `close()` does it too.
   */
  stopConsuming(): Promise<void>;
  close(): Promise<void>;
}

export const EVENT_BUS = Symbol('EVENT_BUS');

/** Thrown by a handler for a fault that retrying cannot fix: the message goes to the DLT at once. */
export class PermanentError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'PermanentError';
  }
}

/**
 * An error with an HTTP-like status that a query's server sends back to its caller (over gRPC in
 * the status and metadata), and that a gateway maps to its HTTP response. 4xx: the caller's fault; 5xx: ours.
 */
export class ServiceError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues?: { field: string; reason: string }[],
  ) {
    super(message);
    this.name = 'ServiceError';
  }

  static fromPayload(payload: RemoteErrorPayload): ServiceError {
    return new ServiceError(payload.status, payload.code, payload.message, payload.issues);
  }

  toPayload(): RemoteErrorPayload {
    return { status: this.status, code: this.code, message: this.message, ...(this.issues ? { issues: this.issues } : {}) };
  }
}

export interface RetryPolicy {
  /** Deliveries before a failing message goes to the DLT. */
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 4, initialBackoffMs: 100, maxBackoffMs: 5_000 };

/** Header names, shared by both adapters. CloudEvents binary mode uses `ce_*`. */
export const H = {
  id: 'ce_id',
  type: 'ce_type',
  source: 'ce_source',
  time: 'ce_time',
  specversion: 'ce_specversion',
  contentType: 'content-type',
  error: 'adseed-error',
  errorKind: 'adseed-error-kind',
  originalTopic: 'adseed-original-topic',
  attempts: 'adseed-attempts',
  group: 'adseed-group',
  /** The HTTP request that caused the message: its handler's log lines carry it too. */
  requestId: 'adseed-request-id',
} as const;
