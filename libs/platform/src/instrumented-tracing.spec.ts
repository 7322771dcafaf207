// First, as in every main.ts: the instrumentations patch http, Nest, grpc-js and pino as they are loaded.
import '@adseed/telemetry/dist/register';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Queries, type SearchReply } from '@adseed/contracts';
import {
  currentService,
  Logger,
  SERVICE_ATTRIBUTE,
  ServiceMetrics,
  startOtlpReceiver,
  startTracing,
  withSpan,
  type OtlpReceiver,
  type ReceivedSpan,
  type Tracing,
} from '@adseed/telemetry';
import { Controller, Get, Module, Param, type INestApplication, type INestMicroservice } from '@nestjs/common';
import { APP_INTERCEPTOR, NestFactory } from '@nestjs/core';
import { Registry } from 'prom-client';
import { HttpMetricsInterceptor } from './http-metrics.interceptor';
import { GrpcQueryClient } from './queries/grpc.query-client';
import { GrpcQueryServer } from './queries/grpc.query-server';
import type { ServiceRuntime } from './service-runtime';

const lines: Record<string, unknown>[] = [];
// Built after the pino instrumentation was registered: it adds the trace ids to each line.
const logger = new Logger({ service: 'test', sink: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });

const reply: SearchReply = {
  hits: [{ rank: 0, assetId: 'a1', path: 'seeds/acme/red.jpg', score: 0.8, scores: { caption: 0.8 }, tags: [], belowFloor: false }],
  encoders: { caption: { id: 'minilm', version: '1' } },
  fusion: 'rrf(k=60)',
  floor: { caption: 0.55 },
};

let client: GrpcQueryClient;
let upstreamUrl: string;
const servedAs: (string | undefined)[] = [];
const upstreamTraceparents: (string | string[] | undefined)[] = [];

@Controller('things')
class ThingsController {
  @Get(':id')
  async get(@Param('id') id: string): Promise<{ id: string; hits: number }> {
    logger.info('asking retrieval', { id });
    const found = await client.call(Queries.search, { tenant: 'acme', text: id, k: 1, kind: 'seed', encoders: ['caption'] });
    // an outgoing call with fetch (undici), as to OpenAI or Replicate
    const upstream = await fetch(`${upstreamUrl}/ping`);
    assert.equal(upstream.status, 204);
    return { id, hits: found.hits.length };
  }
}

const runtime = { service: 'gateway', metrics: new ServiceMetrics('gateway') } as unknown as ServiceRuntime;

@Module({ controllers: [ThingsController], providers: [{ provide: APP_INTERCEPTOR, useValue: new HttpMetricsInterceptor(runtime) }] })
class GatewayModule {}

@Module({})
class RetrievalModule {}

describe('tracing by the instrumentations: HTTP in, gRPC and fetch out, one trace', () => {
  let receiver: OtlpReceiver;
  let tracing: Tracing;
  let http: INestApplication;
  let grpc: INestMicroservice;
  let server: GrpcQueryServer;
  let baseUrl: string;
  let upstream: Server;

  before(async () => {
    receiver = await startOtlpReceiver();
    upstream = createServer((req, res) => {
      upstreamTraceparents.push(req.headers.traceparent);
      res.writeHead(204).end();
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.endpoint;
    tracing = startTracing({ serviceName: 'platform-unit' });
    server = new GrpcQueryServer({ url: '127.0.0.1:0', logger, registry: new Registry() });
    server.handle(Queries.search, async () => {
      servedAs.push(currentService());
      logger.info('searching');
      return withSpan('retrieval work', {}, async () => reply);
    });
    grpc = await NestFactory.createMicroservice(RetrievalModule, { strategy: server.createStrategy(), logger: false });
    await grpc.listen();
    server.started();
    client = new GrpcQueryClient({ targets: { retrieval: `dns:///127.0.0.1:${server.port!}` }, rootTimeoutMs: 10_000, logger });
    http = await NestFactory.create(GatewayModule, { logger: false });
    await http.listen(0, '127.0.0.1');
    baseUrl = `http://127.0.0.1:${(http.getHttpServer().address() as AddressInfo).port}`;
  });

  after(async () => {
    await http?.close();
    await client?.close();
    await server?.close();
    await grpc?.close();
    await tracing?.shutdown();
    await receiver?.close();
    await new Promise((resolve) => upstream?.close(resolve));
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  });

  /** Flushes until the receiver holds what `predicate` wants (bounded: a missing span fails, not hangs). */
  async function exported(predicate: (spans: ReceivedSpan[]) => boolean): Promise<ReceivedSpan[]> {
    for (const deadline = Date.now() + 10_000; ;) {
      await tracing.flush();
      if (predicate(receiver.spans)) return receiver.spans;
      if (Date.now() > deadline) assert.fail(`spans not exported; have: ${receiver.spans.map((s) => `${s.kind} ${s.name}`).join(', ')}`);
      await delay(25);
    }
  }

  it("continues the caller's trace through the HTTP server span, the gRPC client and server spans, the handler's own span and a fetch", async () => {
    const traceId = randomBytes(16).toString('hex');
    const callerSpanId = randomBytes(8).toString('hex');
    // (a fetch that carries a traceparent is left to its caller: no span of the test's own here)
    const res = await fetch(`${baseUrl}/things/bike`, { headers: { traceparent: `00-${traceId}-${callerSpanId}-01` } });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { id: 'bike', hits: 1 });

    const inTrace = (spans: ReceivedSpan[]) => spans.filter((s) => s.traceId === traceId);
    const isNestServer = (s: ReceivedSpan) => s.kind === 'server' && s.attributes['http.route'] === '/things/:id';
    const spans = inTrace(await exported((all) => inTrace(all).some(isNestServer)));
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const one = (what: string, predicate: (s: ReceivedSpan) => boolean) => {
      const found = spans.filter(predicate);
      assert.equal(found.length, 1, `one ${what} among ${spans.map((s) => `${s.kind} ${s.name} (${s.scope})`).join(', ')}`);
      return found[0];
    };

    const httpServer = one('HTTP server span', isNestServer);
    assert.equal(httpServer.scope, '@opentelemetry/instrumentation-http');
    assert.equal(httpServer.name, 'GET /things/:id', "named after Nest's route template");
    assert.equal(httpServer.parentSpanId, callerSpanId);
    assert.equal(httpServer.attributes['http.route'], '/things/:id');
    assert.equal(httpServer.attributes['http.request.method'], 'GET');
    assert.equal(httpServer.attributes['http.response.status_code'], 200);
    assert.equal(httpServer.attributes[SERVICE_ATTRIBUTE], 'gateway');
    assert.equal(httpServer.serviceName, 'platform-unit');

    const grpcClient = one('gRPC client span', (s) => s.kind === 'client' && s.scope === '@opentelemetry/instrumentation-grpc');
    const grpcServer = one('gRPC server span', (s) => s.kind === 'server' && s.scope === '@opentelemetry/instrumentation-grpc');
    assert.equal(grpcClient.name, 'grpc.adseed.retrieval.v1.Retrieval/Search');
    assert.equal(grpcServer.name, 'grpc.adseed.retrieval.v1.Retrieval/Search');
    assert.equal(grpcServer.parentSpanId, grpcClient.spanId, "the context crossed in the call's metadata");
    assert.equal(grpcServer.attributes[SERVICE_ATTRIBUTE], 'retrieval');
    // the client span hangs, parent by parent (Nest's controller spans between), from the HTTP server span
    const ancestors: string[] = [];
    for (let span = byId.get(grpcClient.parentSpanId); span; span = byId.get(span.parentSpanId)) ancestors.push(span.spanId);
    assert.ok(ancestors.includes(httpServer.spanId), 'the gRPC call is part of the HTTP request');
    assert.ok(spans.some((s) => s.scope === '@opentelemetry/instrumentation-nestjs-core' && s.name === 'ThingsController.get'));

    const work = one('handler span', (s) => s.name === 'retrieval work');
    assert.equal(work.parentSpanId, grpcServer.spanId);
    assert.equal(work.attributes[SERVICE_ATTRIBUTE], 'retrieval');
    assert.deepEqual(servedAs, ['retrieval']);
    const fetchClient = one('fetch client span', (s) => s.kind === 'client' && s.scope === '@opentelemetry/instrumentation-undici');
    assert.equal(fetchClient.attributes['http.request.method'], 'GET');
    assert.equal(fetchClient.attributes['http.response.status_code'], 204);
    assert.equal(upstreamTraceparents.at(-1), `00-${traceId}-${fetchClient.spanId}-01`, 'fetch carried the trace context');
    const upstreamServer = one('upstream HTTP server span', (s) => s.kind === 'server' && s.parentSpanId === fetchClient.spanId);
    assert.equal(upstreamServer.scope, '@opentelemetry/instrumentation-http');
    const fetchAncestors: string[] = [];
    for (let span = byId.get(fetchClient.parentSpanId); span; span = byId.get(span.parentSpanId)) fetchAncestors.push(span.spanId);
    assert.ok(fetchAncestors.includes(httpServer.spanId), 'the fetch is part of the HTTP request');

    // no hand-made duplicate of what the instrumentations cover
    assert.equal(spans.filter((s) => s.name === 'adseed.retrieval.v1.Retrieval/Search').length, 0);

    // the pino instrumentation puts the ids on the log lines written inside the trace
    const asking = lines.find((l) => l.msg === 'asking retrieval');
    const searching = lines.find((l) => l.msg === 'searching');
    assert.equal(asking?.traceId, traceId);
    assert.equal(searching?.traceId, traceId);
    assert.equal(searching?.spanId, grpcServer.spanId);
  });
});
