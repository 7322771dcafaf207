import { deadLetterTopicName, type TopicDef } from '@adseed/contracts';
import { recordSpanError, runAsService, runWithRequestId, withConsumerSpan, type Logger, type ServiceMetrics, type Span } from '@adseed/telemetry';
import { ExponentialBackoff, handleWhen, noJitterGenerator, retry } from 'cockatiel';
import { decode } from './envelope';
import { H, PermanentError, type Headers, type IncomingMessage, type RetryPolicy } from './event-bus.port';

export interface RawDelivery {
  topic: string;
  partition: number;
  offset: number;
  key: string;
  value: string;
  headers: Headers;
  /**
   * The schema that already validated `value` in this process: the in-process bus sets it for
   * what `publish` encoded (zod-checked, then serialised), so delivery to a consumer of the same
   * topic definition only parses it. Absent after a restart (messages read back from the
   * journal) and on Kafka: those are validated.
   */
  validatedBy?: unknown;
}

export interface DeliveryContext {
  group: string;
  retry: RetryPolicy;
  logger: Logger;
  metrics?: ServiceMetrics;
  /** Sends the raw message to the topic's DLT; must not resolve before it is durably sent. */
  deadLetter(dltTopic: string, message: { key: string; value: string; headers: Headers }): Promise<void>;
  /** For the consumer span: which adapter delivered and which service handles it. */
  system?: 'kafka' | 'in-process';
  service?: string;
}

/**
 * The consumer's contract, shared by both bus adapters: validate, run the handler, retry
 * transient failures with exponential back-off (a cockatiel retry policy, without jitter:
 * initialBackoffMs doubling up to maxBackoffMs), and dead-letter what cannot be processed.
 * Resolves when the message is done with (handled or dead-lettered): only then may the caller
 * commit the offset. Never rejects, so one poison message cannot stop a partition.
 */
export async function deliver<T>(
  topic: TopicDef<T>,
  raw: RawDelivery,
  ctx: DeliveryContext,
  handler: (message: IncomingMessage<T>) => Promise<void>,
): Promise<'handled' | 'dead-lettered'> {
  // The span's parent comes from the message's headers only, never from memory, so a trace
  // looks the same whether the bus is in-process or Kafka.
  const info = {
    system: ctx.system ?? 'in-process',
    topic: raw.topic,
    service: ctx.service ?? ctx.group,
    messageId: raw.headers[H.id],
    key: raw.key,
    group: ctx.group,
    partition: raw.partition,
    offset: raw.offset,
  } as const;
  const handle = async (consumerSpan: Span) => {
    const outcome = await deliverInSpan(topic, raw, ctx, handler);
    consumerSpan.setAttribute('adseed.delivery.outcome', outcome);
    return outcome;
  };
  // The request id, like the trace, comes from the headers only: the same in both adapters.
  return runWithRequestId(raw.headers[H.requestId], () =>
    info.system === 'kafka'
      ? // the kafkajs instrumentation's CONSUMER span (`process <topic>`, child of the context in the headers) is active
        runAsService(info.service, handle, { 'messaging.consumer.group.name': info.group })
      : withConsumerSpan(info, raw.headers, handle),
  );
}

async function deliverInSpan<T>(
  topic: TopicDef<T>,
  raw: RawDelivery,
  ctx: DeliveryContext,
  handler: (message: IncomingMessage<T>) => Promise<void>,
): Promise<'handled' | 'dead-lettered'> {
  const decoded = raw.validatedBy !== undefined && raw.validatedBy === topic.schema ? parseValidated<T>(raw.value) : decode(topic, raw.value);
  if (!decoded.ok) {
    await sendToDlt(raw, ctx, 'validation', decoded.reason, 1);
    return 'dead-lettered';
  }
  const policy = retry(
    handleWhen((error) => !(error instanceof PermanentError)),
    {
      maxAttempts: ctx.retry.maxAttempts - 1,
      backoff: new ExponentialBackoff({ initialDelay: ctx.retry.initialBackoffMs, maxDelay: ctx.retry.maxBackoffMs, generator: noJitterGenerator }),
    },
  );
  policy.onRetry((event) => {
    const error = 'error' in event ? event.error : undefined;
    recordSpanError(error, { fail: false });
    ctx.logger.warn('handler failed, will retry', { topic: raw.topic, key: raw.key, attempt: event.attempt, retryInMs: event.delay, error });
    ctx.metrics?.consumed.inc({ topic: raw.topic, group: ctx.group, outcome: 'retry' });
  });
  let attempts = 0;
  try {
    await policy.execute(() => handler({ ...raw, value: decoded.value, attempt: ++attempts }));
  } catch (error) {
    await sendToDlt(raw, ctx, error instanceof PermanentError ? 'permanent' : 'exhausted', (error as Error).message, attempts);
    return 'dead-lettered';
  }
  ctx.metrics?.consumed.inc({ topic: raw.topic, group: ctx.group, outcome: 'ok' });
  return 'handled';
}

async function sendToDlt(raw: RawDelivery, ctx: DeliveryContext, kind: string, reason: string, attempts: number): Promise<void> {
  const dlt = deadLetterTopicName(raw.topic);
  recordSpanError(`${kind}: ${reason}`, { fail: true });
  ctx.logger.error('message dead-lettered', { topic: raw.topic, dlt, key: raw.key, kind, reason, attempts });
  await ctx.deadLetter(dlt, {
    key: raw.key,
    value: raw.value,
    headers: {
      ...raw.headers,
      [H.error]: reason.slice(0, 4000),
      [H.errorKind]: kind,
      [H.originalTopic]: raw.topic,
      [H.attempts]: String(attempts),
      [H.group]: ctx.group,
    },
  });
  ctx.metrics?.deadLettered.inc({ topic: raw.topic });
  ctx.metrics?.consumed.inc({ topic: raw.topic, group: ctx.group, outcome: 'dead-lettered' });
}

/** A payload this process encoded with the topic's own schema: parsing it is all that is left to do. */
function parseValidated<T>(raw: string): { ok: true; value: T } {
  return { ok: true, value: JSON.parse(raw) as T };
}
