// First, as in every main.ts: the kafkajs instrumentation patches kafkajs as it is loaded.
import '@adseed/telemetry/dist/register';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { defineTopic } from '@adseed/contracts';
import {
  currentTraceId,
  Logger,
  SERVICE_ATTRIBUTE,
  startOtlpReceiver,
  startTracing,
  withSpan,
  type OtlpReceiver,
  type ReceivedSpan,
  type Tracing,
} from '@adseed/telemetry';
import { z } from 'zod';
import { KafkaEventBus } from './kafka.bus';

/** Against the real single-node Kafka broker that scripts/infra/kafka.sh starts. */
const BROKERS = (process.env.ADSEED_IT_KAFKA ?? `127.0.0.1:${process.env.ADSEED_KAFKA_PORT ?? 19092}`).split(',');
/** Letters only (topic names are `<domain>.<entity>.<event>.v<N>`). */
const runId = () => Array.from(randomBytes(8), (b) => String.fromCharCode(97 + (b % 26))).join('');
const quiet = new Logger({ service: 'test', level: 'error', sink: () => undefined });

describe(`Kafka events carry the trace (the bus's PRODUCER span, kafkajs instrumentation's CONSUMER span, ${BROKERS.join(',')})`, () => {
  let receiver: OtlpReceiver;
  let tracing: Tracing;
  const buses: KafkaEventBus[] = [];
  const bus = (source: string) => {
    const created = new KafkaEventBus({ source, brokers: BROKERS, logger: quiet, retry: { maxAttempts: 2, initialBackoffMs: 20, maxBackoffMs: 50 } });
    buses.push(created);
    return created;
  };

  before(async () => {
    receiver = await startOtlpReceiver();
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint;
    tracing = startTracing({ serviceName: 'kafka-it' });
  });

  after(async () => {
    for (const b of buses) await b.close();
    await tracing?.shutdown();
    await receiver?.close();
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  });

  it('a handler runs in the trace of the code that published, under a send → process pair', async () => {
    const Thing = defineTopic(`test.traced-${runId()}.happened.v1`, z.object({ id: z.string() }), 1);
    const seen: { traceId?: string; traceparent?: string }[] = [];
    const consumer = bus('agent');
    await consumer.ensureTopics([Thing]);
    await consumer.subscribe(Thing, { group: `agent-${runId()}` }, async (m) => {
      seen.push({ traceId: currentTraceId(), traceparent: m.headers.traceparent });
      await withSpan('handler work', {}, async () => undefined);
    });
    let publishTraceId: string | undefined;
    await withSpan(
      'request',
      {},
      async () => {
        publishTraceId = currentTraceId();
        await bus('gateway').publish(Thing, { key: 'k', value: { id: 'k' } });
      },
      { service: 'gateway' },
    );
    for (const deadline = Date.now() + 30_000; seen.length === 0 && Date.now() < deadline;) await delay(50);
    assert.equal(seen.length, 1, 'the message was handled');
    assert.match(publishTraceId!, /^[0-9a-f]{32}$/);
    assert.equal(seen[0].traceId, publishTraceId, "the handler continues the publisher's trace");

    const inTrace = (all: ReceivedSpan[]) => all.filter((s) => s.traceId === publishTraceId);
    let spans: ReceivedSpan[] = [];
    // the CONSUMER span ends once the offset is committed, after the handler
    for (const deadline = Date.now() + 10_000; !spans.some((s) => s.kind === 'consumer') && Date.now() < deadline; await delay(25)) {
      await tracing.flush();
      spans = inTrace(receiver.spans);
    }
    const one = (what: string, predicate: (s: ReceivedSpan) => boolean) => {
      const found = spans.filter(predicate);
      assert.equal(found.length, 1, `one ${what} among ${spans.map((s) => `${s.kind} ${s.name} (${s.scope})`).join(', ')}`);
      return found[0];
    };
    const request = one('request span', (s) => s.name === 'request');
    const send = one('PRODUCER span', (s) => s.kind === 'producer');
    const processed = one('CONSUMER span', (s) => s.kind === 'consumer');
    const work = one('handler span', (s) => s.name === 'handler work');
    // The bus makes the PRODUCER span (its requests carry many publishers' records); kafkajs's instrumentation the CONSUMER's.
    assert.equal(send.name, `${Thing.name} publish`);
    assert.equal(send.scope, 'adseed.gateway');
    assert.equal(send.attributes[SERVICE_ATTRIBUTE], 'gateway');
    assert.equal(send.attributes['messaging.system'], 'kafka');
    assert.equal(send.parentSpanId, request.spanId);
    assert.equal(seen[0].traceparent, `00-${publishTraceId}-${send.spanId}-01`, "the context is in the record's headers");
    assert.equal(processed.name, `process ${Thing.name}`);
    assert.equal(processed.scope, '@opentelemetry/instrumentation-kafkajs');
    assert.equal(processed.parentSpanId, send.spanId);
    assert.equal(processed.attributes['messaging.message.id'], send.attributes['messaging.message.id']);
    assert.ok(processed.attributes['messaging.message.id'], 'ce_id on both spans');
    assert.equal(processed.attributes[SERVICE_ATTRIBUTE], 'agent');
    assert.equal(processed.attributes['adseed.delivery.outcome'], 'handled');
    assert.equal(work.parentSpanId, processed.spanId);
    assert.equal(work.attributes[SERVICE_ATTRIBUTE], 'agent');
  });

  it('records published at once by different traces share a request, and each keeps its own trace', async () => {
    const Thing = defineTopic(`test.traced-${runId()}.happened.v1`, z.object({ id: z.string() }), 3);
    const handled = new Map<string, string | undefined>();
    const consumer = bus('agent');
    await consumer.ensureTopics([Thing]);
    await consumer.subscribe(Thing, { group: `agent-${runId()}` }, async (m) => void handled.set(m.value.id, currentTraceId()));
    const publisher = bus('gateway');
    const published = new Map<string, string | undefined>();
    // Twelve requests publishing in the same turn: the coalescer sends them in one or two produce requests.
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        withSpan(
          'request',
          {},
          async () => {
            published.set(`m${i}`, currentTraceId());
            await publisher.publish(Thing, { key: `m${i}`, value: { id: `m${i}` } });
          },
          { service: 'gateway' },
        ),
      ),
    );
    for (const deadline = Date.now() + 30_000; handled.size < 12 && Date.now() < deadline;) await delay(50);
    assert.equal(handled.size, 12, 'every message was handled');
    assert.equal(new Set(published.values()).size, 12, 'twelve traces');
    for (const [id, traceId] of published) assert.equal(handled.get(id), traceId, `${id} is handled in its publisher's trace`);
  });
});
