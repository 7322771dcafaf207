// First, as in main.ts: the instrumentations patch http and Nest as they are loaded.
import '@adseed/telemetry/dist/register';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { flushTracing, SERVICE_ATTRIBUTE, startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '@adseed/telemetry';
import sharp from 'sharp';
import { startTestApp, type TestApp } from './harness';

type Json = Record<string, any>;

const solid = (r: number, g: number, b: number) =>
  sharp({ create: { width: 320, height: 240, channels: 3, background: { r, g, b } } })
    .jpeg()
    .toBuffer();

describe('tracing and metrics in the one-process mode', () => {
  let receiver: OtlpReceiver;
  let app: TestApp;

  before(async () => {
    receiver = await startOtlpReceiver();
    // The SDK's default protocol (http/protobuf) to a local OTLP receiver; the SDK reads process.env.
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint;
    process.env.OTEL_SERVICE_NAME = 'adseed-e2e';
    app = await startTestApp();
    for (const [i, caption] of ['a dog running in a park', 'a cat sleeping on a sofa', 'a dog on a beach'].entries()) {
      const form = new FormData();
      form.set('file', new Blob([new Uint8Array(await solid(40 * i, 120, 200 - 40 * i))]), `photo_${i}.jpg`);
      form.set('caption', caption);
      const res = await app.api('/v1/assets', { method: 'POST', body: form });
      assert.equal(res.status, 201, await res.clone().text());
    }
    await app.whenIdle();
  });
  /** Flushes until the receiver holds what `predicate` wants (bounded: a missing span fails, not hangs). */
  async function exported(predicate: (spans: ReceivedSpan[]) => boolean, timeoutMs = 10_000): Promise<ReceivedSpan[]> {
    for (const deadline = Date.now() + timeoutMs; ;) {
      await flushTracing();
      if (predicate(receiver.spans)) return receiver.spans;
      if (Date.now() > deadline) assert.fail(`spans not exported within ${timeoutMs} ms; have: ${[...new Set(receiver.spans.map((s) => s.name))].join(', ')}`);
      await delay(25);
    }
  }

  after(async () => {
    await app?.stop();
    await receiver?.close();
  });

  it('one conversation turn is one trace, from the gateway through agent and retrieval to embedding', async () => {
    const created = await app.api('/v1/conversations', { method: 'POST', json: { segment: 'outdoor-loving dog owner' } });
    assert.equal(created.status, 201);
    const conversation = (await created.json()) as Json;

    // The client's own trace context: the gateway must continue it, which also names the turn's trace.
    const traceId = randomBytes(16).toString('hex');
    const clientSpanId = randomBytes(8).toString('hex');
    const res = await app.api(`/v1/conversations/${conversation.id}/messages`, {
      method: 'POST',
      json: { text: 'yes' },
      headers: { traceparent: `00-${traceId}-${clientSpanId}-01` },
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(((await res.json()) as Json).status, 'awaiting-seed');
    await app.whenIdle();

    const inTrace = (spans: ReceivedSpan[]) => spans.filter((s) => s.traceId === traceId);
    // The server span ends when the response closes, just after the client has read it.
    const isHttpServer = (s: ReceivedSpan) => s.kind === 'server' && s.attributes['http.route'] !== undefined;
    const spans = inTrace(await exported((all) => inTrace(all).some(isHttpServer)));
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const server = spans.find(isHttpServer)!;
    assert.equal(server.name, 'POST /v1/conversations/:id/messages');
    assert.equal(server.parentSpanId, clientSpanId);
    assert.equal(server.attributes['http.route'], '/v1/conversations/:id/messages');
    assert.equal(server.attributes['http.response.status_code'], 200);
    assert.equal(server.attributes[SERVICE_ATTRIBUTE], 'gateway');
    assert.equal(server.serviceName, 'adseed-e2e');

    const services = new Set(spans.map((s) => s.attributes[SERVICE_ATTRIBUTE]));
    for (const service of ['gateway', 'agent', 'retrieval', 'embedding'])
      assert.ok(services.has(service), `a span of ${service} in the turn's trace (has ${JSON.stringify([...services])})`);

    // Every hop between services is a PRODUCER → CONSUMER edge carried by the message's headers.
    const consumers = spans.filter((s) => s.kind === 'consumer');
    for (const consumer of consumers) {
      const producer = byId.get(consumer.parentSpanId);
      assert.equal(producer?.kind, 'producer', `${consumer.name} is a child of the span that sent its message`);
      assert.equal(producer.attributes['messaging.destination.name'], consumer.attributes['messaging.destination.name']);
      assert.equal(producer.attributes['messaging.message.id'], consumer.attributes['messaging.message.id']);
      assert.equal(consumer.attributes['messaging.system'], 'in-process');
      assert.ok(consumer.attributes['messaging.consumer.group.name']);
      // ... and the context is in the stored message itself, as it would be in a Kafka record.
      const stored = app.broker
        .read(consumer.attributes['messaging.destination.name'] as string)
        .find((m) => m.headers.ce_id === consumer.attributes['messaging.message.id']);
      if (stored) assert.equal(stored.headers.traceparent, `00-${traceId}-${producer.spanId}-01`);
    }
    // Every query between services is a CLIENT → SERVER edge (as over gRPC), the server span in the serving service.
    const queryServers = spans.filter((s) => s.kind === 'server' && s.attributes['rpc.system'] === 'in-process');
    for (const served of queryServers) {
      const caller = byId.get(served.parentSpanId);
      assert.equal(caller?.kind, 'client', `${served.name} is a child of the span that called it`);
      assert.equal(caller.name, served.name);
    }
    assert.ok(queryServers.some((s) => s.name === 'adseed.retrieval.v1.Retrieval/Search' && s.attributes[SERVICE_ATTRIBUTE] === 'retrieval'));

    // The embedding call hangs, parent by parent, from the gateway's request span.
    const embedding = queryServers.find((s) => s.attributes[SERVICE_ATTRIBUTE] === 'embedding')!;
    assert.ok(embedding, 'the embedding service answered a query in this trace');
    const path: string[] = [];
    for (let span: ReceivedSpan | undefined = embedding; span; span = byId.get(span.parentSpanId))
      path.unshift(`${span.attributes[SERVICE_ATTRIBUTE] as string}:${span.kind}`);
    assert.equal(path[0], 'gateway:server', `the chain reaches the gateway: ${path.join(' → ')}`);
    const hops = path
      .slice(1)
      .filter((step) => step.endsWith(':server'))
      .map((step) => step.split(':')[0]);
    assert.deepEqual(hops, ['agent', 'retrieval', 'embedding']);
  });

  it("serves every service's metrics from the gateway's /metrics, each series labelled by service", async () => {
    const search = await app.api('/v1/search', { method: 'POST', json: { text: 'a dog in a park', encoders: ['caption'] } });
    assert.equal(search.status, 200, await search.clone().text());
    await app.whenIdle();
    const res = await app.api('/metrics');
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /^http_requests_total\{[^}]*route="\/v1\/search"[^}]*service="gateway"[^}]*\} [1-9]/m);
    assert.match(text, /^adseed_encoder_latency_seconds_count\{[^}]*tower="caption"[^}]*service="embedding"[^}]*\} [1-9]/m);
    assert.match(text, /^adseed_messages_consumed_total\{[^}]*service="retrieval"[^}]*\} [1-9]/m);
    assert.match(text, /^adseed_kafka_consumer_lag\{[^}]*group="retrieval"[^}]*service="retrieval"[^}]*\} 0$/m, 'lag computed on scrape');
    // One family per name, as Prometheus requires, even though five registries define it.
    for (const name of ['http_requests_total', 'adseed_encoder_latency_seconds', 'adseed_kafka_consumer_lag']) {
      assert.equal(
        text
          .split('\n')
          .filter((line) => line === `# TYPE ${name} ${name === 'adseed_kafka_consumer_lag' ? 'gauge' : name.endsWith('_total') ? 'counter' : 'histogram'}`)
          .length,
        1,
        name,
      );
    }
  });
});
