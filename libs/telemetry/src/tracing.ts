import {
  context,
  createContextKey,
  INVALID_SPAN_CONTEXT,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { NodeSDK, resources, type tracing as sdk } from '@opentelemetry/sdk-node';
import { registerInstrumentations } from './instrumentations';

export type { Span } from '@opentelemetry/api';

/** Which service produced a span: in the one-process mode all five share one tracer provider. */
export const SERVICE_ATTRIBUTE = 'adseed.service';

export type TracingConfig = { enabled: false; serviceName: string; reason: string } | { enabled: true; serviceName: string };

const EXPORTERS: readonly string[] = ['otlp', 'console', 'zipkin', 'none'];
const PROTOCOLS: readonly string[] = ['http/protobuf', 'http/json', 'grpc'];
const ENDPOINTS = ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] as const;

/**
 * Whether this process traces. The `OTEL_*` variables themselves are read by the SDK (exporter,
 * protocol, endpoint, headers, batching, sampler, propagators, resource); this only decides
 * whether to start it, with one deviation from the SDK's defaults: with no exporter and no
 * endpoint configured, tracing is off (the SDK would export to localhost:4318 and fail quietly
 * forever). Values the SDK would only warn about (and then ignore) throw here, naming the variable.
 */
export function resolveTracingConfig(env: NodeJS.ProcessEnv, defaultServiceName: string): TracingConfig {
  const serviceName = env.OTEL_SERVICE_NAME?.trim() || defaultServiceName;
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return { enabled: false, serviceName, reason: 'OTEL_SDK_DISABLED=true' };
  const listed = (env.OTEL_TRACES_EXPORTER ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  const unknown = listed.filter((name) => !EXPORTERS.includes(name));
  if (unknown.length) throw new Error(`OTEL_TRACES_EXPORTER: unsupported ${unknown.join(', ')}; use ${EXPORTERS.join(', ')}`);
  for (const variable of ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL'] as const) {
    const protocol = env[variable]?.trim();
    if (protocol && !PROTOCOLS.includes(protocol)) throw new Error(`${variable}: unsupported "${protocol}"; use ${PROTOCOLS.join(', ')}`);
  }
  for (const variable of ENDPOINTS) {
    const endpoint = env[variable]?.trim();
    if (endpoint && !/^https?:\/\/[^/]/.test(endpoint)) throw new Error(`${variable}: "${endpoint}" is not an http(s) URL`);
  }
  if (listed.includes('none')) return { enabled: false, serviceName, reason: 'OTEL_TRACES_EXPORTER=none' };
  if (listed.length === 0 && !ENDPOINTS.some((variable) => env[variable]?.trim())) {
    return { enabled: false, serviceName, reason: 'no OTEL_EXPORTER_OTLP_ENDPOINT and no OTEL_TRACES_EXPORTER' };
  }
  return { enabled: true, serviceName };
}

export interface TracingOptions {
  /** The default `service.name` (OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win). In the one-process mode: `adseed`. */
  serviceName: string;
}

export interface Tracing {
  readonly config: TracingConfig;
  /** Exports every ended span now; resolves when the exporter answered (or gave up). */
  flush(): Promise<void>;
  /** Flushes and releases this handle; the SDK stops when the last handle of the process stops. */
  shutdown(): Promise<void>;
}

interface ActiveSdk {
  sdk: NodeSDK;
  config: TracingConfig;
  handles: number;
}

let active: ActiveSdk | undefined;

/**
 * Starts OpenTelemetry for this process from its `OTEL_*` variables: NodeSDK with the
 * instrumentations (`registerInstrumentations`), W3C trace context, async-local context. The SDK
 * is global: a second call while it runs shares the first one's and returns another handle.
 * Logs stay on stdout and metrics with prom-client, unless OTEL_LOGS_EXPORTER /
 * OTEL_METRICS_EXPORTER ask the SDK for them too.
 */
export function startTracing(options: TracingOptions): Tracing {
  const config = resolveTracingConfig(process.env, options.serviceName);
  if (!config.enabled) return { config, flush: async () => undefined, shutdown: async () => undefined };
  if (!active) {
    registerInstrumentations();
    const nodeSdk = new NodeSDK({
      // The defaults; the SDK's environment detector (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) overrides them.
      resource: resources.defaultResource().merge(resources.resourceFromAttributes({ 'service.name': options.serviceName, 'service.namespace': 'adseed' })),
      // Without this the SDK would set up an OTLP log exporter by default.
      ...(process.env.OTEL_LOGS_EXPORTER ? {} : { logRecordProcessors: [] }),
      // Registered above, once per process (the SDK would register them again on every start).
      instrumentations: [],
    });
    nodeSdk.start();
    active = { sdk: nodeSdk, config, handles: 0 };
  }
  const owner = active;
  owner.handles++;
  let released = false;
  return {
    config: owner.config,
    flush: flushTracing,
    shutdown: async () => {
      if (released) return;
      released = true;
      if (--owner.handles > 0) {
        await flushTracing();
        return;
      }
      if (active === owner) active = undefined;
      await owner.sdk.shutdown();
      // Unregister the globals so a later startTracing in this process (tests) can register again.
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

/** Exports the spans ended so far, if tracing runs in this process. */
export async function flushTracing(): Promise<void> {
  if (!active) return;
  // The SDK's provider behind the API's proxy (span processors built from OTEL_TRACES_EXPORTER).
  const provider = (trace.getTracerProvider() as { getDelegate?: () => unknown }).getDelegate?.() as Partial<sdk.BasicTracerProvider> | undefined;
  await provider?.forceFlush?.();
}

// ---------------------------------------------------------------------------------------------
// Spans

export type SpanAttributeValue = string | number | boolean | undefined;
export type SpanAttributes = Record<string, SpanAttributeValue>;
export type SpanKindName = 'internal' | 'server' | 'client' | 'producer' | 'consumer';

const KINDS: Record<SpanKindName, SpanKind> = {
  internal: SpanKind.INTERNAL,
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
};

export interface StartSpanOptions {
  kind?: SpanKindName;
  /** The producing service; defaults to the service of the enclosing span. */
  service?: string;
  /** The parent context; defaults to the active one. */
  parent?: Context;
}

const SERVICE_KEY = createContextKey('adseed.service');

/** The service whose code is running (set by the bus's consumer spans and HTTP server spans). */
export function currentService(): string | undefined {
  return context.active().getValue(SERVICE_KEY) as string | undefined;
}

export interface StartedSpan {
  readonly span: Span;
  /** Runs `fn` with this span active: spans started inside are its children. */
  run<T>(fn: () => T): T;
  /** Ends the span; an error marks it failed. Later calls do nothing. */
  end(attributes?: SpanAttributes, error?: unknown): void;
}

/**
 * Starts a span that the caller ends (for work whose end is an event, like an HTTP response
 * closing). Prefer `withSpan` when the work is one function call.
 */
export function startSpan(name: string, attributes: SpanAttributes, options: StartSpanOptions = {}): StartedSpan {
  const parent = options.parent ?? context.active();
  const service = options.service ?? (parent.getValue(SERVICE_KEY) as string | undefined);
  const tracer = trace.getTracer(service ? `adseed.${service}` : 'adseed');
  const span = tracer.startSpan(
    name,
    { kind: KINDS[options.kind ?? 'internal'], attributes: cleanAttributes({ ...attributes, [SERVICE_ATTRIBUTE]: service }) },
    parent,
  );
  const inSpan = service ? trace.setSpan(parent, span).setValue(SERVICE_KEY, service) : trace.setSpan(parent, span);
  let ended = false;
  return {
    span,
    run: (fn) => context.with(inSpan, fn),
    end: (extra, error) => {
      if (ended) return;
      ended = true;
      if (extra) span.setAttributes(cleanAttributes(extra));
      if (error !== undefined) failSpan(span, error);
      span.end();
    },
  };
}

/**
 * Runs `fn` inside a new span, ended when `fn` returns or its promise settles; a throw or a
 * rejection marks the span failed and is passed on unchanged. Cheap when tracing is off.
 */
export function withSpan<T>(name: string, attributes: SpanAttributes, fn: (span: Span) => T, options: StartSpanOptions = {}): T {
  const started = startSpan(name, attributes, options);
  return started.run(() => {
    let result: T;
    try {
      result = fn(started.span);
    } catch (error) {
      started.end(undefined, error);
      throw error;
    }
    if (isPromiseLike(result)) {
      return result.then(
        (value) => {
          started.end();
          return value;
        },
        (error: unknown) => {
          started.end(undefined, error);
          throw error;
        },
      ) as T;
    }
    started.end();
    return result;
  });
}

/**
 * Runs `fn` as `service`'s code, in the span an instrumentation started for it (a gRPC or Kafka
 * server/consumer span, active when our handler is called): the span is tagged with the service
 * and `attributes`, and spans started inside name the service (the one-process mode tells the
 * services apart by this). `fn` gets the span (a no-op one when nothing is traced).
 */
export function runAsService<T>(service: string, fn: (span: Span) => T, attributes: SpanAttributes = {}): T {
  const span = trace.getActiveSpan() ?? trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
  span.setAttributes(cleanAttributes({ ...attributes, [SERVICE_ATTRIBUTE]: service }));
  return context.with(context.active().setValue(SERVICE_KEY, service), () => fn(span));
}

/** Notes an error on the active span (an event); `fail` also marks the span failed. */
export function recordSpanError(error: unknown, options: { fail: boolean }): void {
  const span = trace.getActiveSpan();
  if (!span) return;
  if (options.fail) failSpan(span, error);
  else span.recordException(asException(error));
}

/** The active trace id, for logs and error bodies; undefined when nothing is traced. */
export function currentTraceId(): string | undefined {
  const spanContext = trace.getActiveSpan()?.spanContext();
  return spanContext && trace.isSpanContextValid(spanContext) ? spanContext.traceId : undefined;
}

function failSpan(span: Span, error: unknown): void {
  const exception = asException(error);
  span.recordException(exception);
  span.setStatus({ code: SpanStatusCode.ERROR, message: typeof exception === 'string' ? exception : exception.message });
}

function asException(error: unknown): Error | string {
  return error instanceof Error ? error : String(error);
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === 'function';
}

function cleanAttributes(attributes: SpanAttributes): Attributes {
  const out: Attributes = {};
  for (const [key, value] of Object.entries(attributes)) if (value !== undefined) out[key] = value;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Context in message headers (W3C traceparent/tracestate): the only way a trace crosses a bus.

export type HeaderCarrier = Record<string, string | string[] | undefined>;

/** A copy of `headers` carrying the active trace context (replacing any it carried before). */
export function injectTraceHeaders(headers: Record<string, string>): Record<string, string> {
  const out = { ...headers };
  // With no propagator registered (tracing off) `fields()` is empty and upstream context passes through.
  for (const field of propagation.fields()) delete out[field];
  propagation.inject(context.active(), out);
  return out;
}

/** The trace context carried by `headers`, on top of an empty context (never the caller's). */
export function extractTraceContext(headers: HeaderCarrier): Context {
  return propagation.extract(ROOT_CONTEXT, headers);
}

export interface MessageSpanInfo {
  system: 'kafka' | 'in-process';
  topic: string;
  /** The service sending or handling the message. */
  service: string;
  /** CloudEvents `ce_id`: the de-duplication key. */
  messageId?: string;
  key?: string;
  group?: string;
  partition?: number;
  offset?: number;
}

function messagingAttributes(info: MessageSpanInfo, operation: 'publish' | 'process'): SpanAttributes {
  return {
    'messaging.system': info.system,
    'messaging.destination.name': info.topic,
    'messaging.operation.type': operation === 'publish' ? 'send' : 'process',
    'messaging.operation.name': operation,
    'messaging.message.id': info.messageId,
    'messaging.consumer.group.name': info.group,
    'messaging.destination.partition.id': info.partition === undefined ? undefined : String(info.partition),
    'messaging.kafka.message.key': info.key,
    'messaging.kafka.offset': info.offset,
  };
}

/**
 * A PRODUCER span around a send; `send` gets the headers with this span's trace context. Both
 * buses make it (over Kafka the kafkajs instrumentation makes the consumer's span).
 */
export function withProducerSpan<T>(info: MessageSpanInfo, headers: Record<string, string>, send: (headers: Record<string, string>) => T): T {
  return withSpan(`${info.topic} publish`, messagingAttributes(info, 'publish'), () => send(injectTraceHeaders(headers)), {
    kind: 'producer',
    service: info.service,
  });
}

/**
 * Runs `fn` untraced: instrumentations inside start no span and inject no trace context. For a
 * request that carries the work of many callers, each traced on its own already (the Kafka
 * adapter's coalesced produce requests, whose records carry their publishers' contexts).
 */
export function untraced<T>(fn: () => T): T {
  return context.with(suppressTracing(ROOT_CONTEXT), fn);
}

/**
 * A CONSUMER span around a handler, child of the context in the message's headers. The
 * in-memory context of whoever happened to schedule the delivery is ignored on purpose, so the
 * one-process mode traces exactly as the Kafka mode does (where the kafkajs instrumentation makes
 * this span, and the handler runs in it through `runAsService`).
 */
export function withConsumerSpan<T>(info: MessageSpanInfo, headers: HeaderCarrier, handle: (span: Span) => T): T {
  return withSpan(`${info.topic} process`, messagingAttributes(info, 'process'), handle, {
    kind: 'consumer',
    service: info.service,
    parent: extractTraceContext(headers),
  });
}

// ---------------------------------------------------------------------------------------------
// Ports

export interface TraceMethodsOptions {
  /** Only these methods get spans (default: every method). */
  methods?: readonly string[];
  /** Span attributes from a call's arguments (never whole payloads). */
  attributes?: (method: string, args: readonly unknown[]) => SpanAttributes;
}

/**
 * The same object, with a span `<component>.<method>` around each method call: one line at the
 * place a port's adapter is built traces every adapter behind it (object store, vector index,
 * encoders, generators), including methods added later. `instanceof` still works.
 */
export function traceMethods<T extends object>(target: T, component: string, options: TraceMethodsOptions = {}): T {
  const wrappers = new WeakMap<(...args: unknown[]) => unknown, (...args: unknown[]) => unknown>();
  return new Proxy(target, {
    get(object, property) {
      const value: unknown = Reflect.get(object, property, object);
      if (typeof value !== 'function' || typeof property !== 'string' || property === 'constructor') return value;
      if (options.methods && !options.methods.includes(property)) return value;
      const method = value as (...args: unknown[]) => unknown;
      let wrapper = wrappers.get(method);
      if (!wrapper) {
        wrapper = (...args: unknown[]) =>
          withSpan(`${component}.${property}`, { 'adseed.component': component, ...options.attributes?.(property, args) }, () => method.apply(object, args));
        wrappers.set(method, wrapper);
      }
      return wrapper;
    },
  });
}
