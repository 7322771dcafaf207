// No import of pino (or of anything that loads it) here: this module must be loadable before
// the modules it instruments.
import type { Span } from '@opentelemetry/api';
import { registerInstrumentations as register, type Instrumentation } from '@opentelemetry/instrumentation';
import { GrpcInstrumentation } from '@opentelemetry/instrumentation-grpc';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs';
import { NestInstrumentation } from '@opentelemetry/instrumentation-nestjs-core';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';

/** Probes and scrapes: every few seconds per pod, never worth a trace. */
const UNTRACED_PATHS = new Set(['/healthz', '/livez', '/readyz', '/metrics']);

/** What the instrumentations cover; hand-made spans are for the rest (in-process bus and queries, ports, use cases). */
export const INSTRUMENTED = ['http', '@nestjs/core', '@grpc/grpc-js', 'kafkajs', 'pino'] as const;

let registered: Instrumentation[] | undefined;

const serverSpans = new WeakMap<object, Span>();

/** The HTTP instrumentation's SERVER span for an incoming request (Express's `req` is the same object). */
export function httpServerSpanOf(request: object): Span | undefined {
  return serverSpans.get(request);
}

/**
 * Registers the OpenTelemetry instrumentations (once per process): HTTP in and out, Nest
 * (controller and handler spans), gRPC client and server, kafkajs producers and consumers
 * (context in the record headers), and pino (trace ids on log lines). They patch modules as they
 * are required, so this must run before Nest, grpc-js, kafkajs and pino are loaded — which is
 * what `instrument.ts` (the first import of every `main.ts`) does. Spans they start go to
 * whichever tracer provider is registered later; none (tracing off) makes them no-ops.
 *
 * Not the Express instrumentation: behind Nest's global middleware (`{*path}`) it names routes
 * `POST /{*path}/{*path}/v1/…`; `HttpMetricsInterceptor` names the HTTP server span after Nest's
 * route template instead (`httpServerSpanOf`).
 */
export function registerInstrumentations(): readonly Instrumentation[] {
  if (registered) return registered;
  // The stable HTTP attribute names (http.request.method, http.response.status_code, url.path),
  // unless the operator chose otherwise; the HTTP and gRPC instrumentations read it when built.
  process.env.OTEL_SEMCONV_STABILITY_OPT_IN ??= 'http';
  registered = [
    new HttpInstrumentation({
      ignoreIncomingRequestHook: (request) => UNTRACED_PATHS.has((request.url ?? '').split('?')[0] ?? ''),
      // Called for outgoing requests too (with a ClientRequest): only incoming ones are kept.
      requestHook: (span, request) => {
        if (!('setHeader' in request)) serverSpans.set(request, span);
      },
    }),
    new NestInstrumentation(),
    new GrpcInstrumentation(),
    new KafkaJsInstrumentation({
      producerHook: (span, { message }) => setMessageId(span, message.headers),
      consumerHook: (span, { message }) => setMessageId(span, message.headers),
    }),
    // Log lines keep the field names they always had; the lines stay on stdout (no OTLP logs).
    new PinoInstrumentation({ disableLogSending: true, logKeys: { traceId: 'traceId', spanId: 'spanId', traceFlags: 'traceFlags' } }),
  ];
  register({ instrumentations: registered });
  return registered;
}

/** The CloudEvents id (`ce_id`), the consumers' de-duplication key, as on the in-process bus's spans. */
function setMessageId(span: Span, headers: Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined): void {
  const id = headers?.ce_id;
  if (id !== undefined) span.setAttribute('messaging.message.id', String(Array.isArray(id) ? id[0] : id));
}
