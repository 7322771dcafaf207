// No import of pino (or of anything that loads it) here: this module must be loadable before
// the modules it instruments.
import type { Span } from '@opentelemetry/api';
import { registerInstrumentations as register, type Instrumentation } from '@opentelemetry/instrumentation';
import { GrpcInstrumentation } from '@opentelemetry/instrumentation-grpc';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { KafkaJsInstrumentation } from '@opentelemetry/instrumentation-kafkajs';
import { NestInstrumentation } from '@opentelemetry/instrumentation-nestjs-core';
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';

/** Probes and scrapes: every few seconds per pod, never worth a trace. */
const UNTRACED_PATHS = new Set(['/healthz', '/livez', '/readyz', '/metrics']);

let registered: Instrumentation[] | undefined;

const serverSpans = new WeakMap<object, Span>();

/** The HTTP instrumentation's SERVER span for an incoming request (Express's `req` is the same object). */
export function httpServerSpanOf(request: object): Span | undefined {
  return serverSpans.get(request);
}

/**
 * Registers the OpenTelemetry instrumentations (once per process): HTTP in and out (node's http
 * and fetch), Nest (controller and handler spans), gRPC client and server, kafkajs producers and
 * consumers (context in the record headers), and pino (trace ids on log lines). They patch modules as they
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
      // Probes, scrapes, and OTLP exports received (an in-process receiver in tests would trace its own input).
      ignoreIncomingRequestHook: (request) =>
        UNTRACED_PATHS.has((request.url ?? '').split('?')[0] ?? '') || (request.headers['user-agent'] ?? '').includes('OTel-OTLP-Exporter'),
      // Called for outgoing requests too (with a ClientRequest): only incoming ones are kept.
      requestHook: (span, request) => {
        if (!('setHeader' in request)) serverSpans.set(request, span);
      },
    }),
    // fetch() (OpenAI, Replicate, the moderation API): node's undici, which the HTTP one does not see
    // A request that carries a traceparent already is left alone: its caller propagates context
    // by hand (undici would add a second header, not replace it).
    new UndiciInstrumentation({ ignoreRequestHook: (request) => carriesTraceparent(request.headers) }),
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

function carriesTraceparent(headers: string | (string | string[])[]): boolean {
  // undici 5 (node 20) gives "name: value\r\n" lines, later versions [name, value, name, value, …]
  if (typeof headers === 'string') return /(^|\r\n)traceparent:/i.test(headers);
  return headers.some((entry, i) => i % 2 === 0 && typeof entry === 'string' && entry.toLowerCase() === 'traceparent');
}

/** The CloudEvents id (`ce_id`), the consumers' de-duplication key, as on the in-process bus's spans. */
function setMessageId(span: Span, headers: Record<string, Buffer | string | (Buffer | string)[] | undefined> | undefined): void {
  const id = headers?.ce_id;
  if (id !== undefined) span.setAttribute('messaging.message.id', String(Array.isArray(id) ? id[0] : id));
}
