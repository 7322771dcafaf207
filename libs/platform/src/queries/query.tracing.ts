import { queryPath, type QueryDef } from '@adseed/contracts';
import {
  currentRequestId,
  extractTraceContext,
  injectTraceHeaders,
  runAsService,
  runWithRequestId,
  withSpan,
  type HeaderCarrier,
  type SpanAttributes,
} from '@adseed/telemetry';

/** Carries the caller's request id (as bus messages do), so the server's log lines have it too. */
export const REQUEST_ID = 'adseed-request-id';

/** What a query carries besides its request: the caller's request id. */
export function requestIdCarrier(): Record<string, string> {
  const requestId = currentRequestId();
  return requestId ? { [REQUEST_ID]: requestId } : {};
}

/**
 * Runs a query's handler in the gRPC instrumentation's SERVER span (a child of the caller's
 * CLIENT span, through the call's metadata), as the serving service and under the caller's request id.
 */
export function inQueryServerContext<T>(query: QueryDef<unknown, unknown>, carrier: HeaderCarrier, handle: () => Promise<T>): Promise<T> {
  const requestId = carrier[REQUEST_ID];
  return runWithRequestId(typeof requestId === 'string' ? requestId : undefined, () => runAsService(query.service, handle));
}

// The one-process mode's queries are direct calls, which no instrumentation sees: the same
// CLIENT → SERVER pair is made by hand, the context carried as it would be in gRPC metadata.

const attributes = (query: QueryDef<unknown, unknown>): SpanAttributes => ({
  'rpc.system': 'in-process',
  'rpc.service': query.grpcService,
  'rpc.method': query.method,
});

/** A CLIENT span around an in-process query; `send` gets the trace context and request id to carry. */
export function withQueryClientSpan<T>(query: QueryDef<unknown, unknown>, send: (carrier: Record<string, string>) => Promise<T>): Promise<T> {
  return withSpan(queryPath(query).slice(1), attributes(query), () => send(injectTraceHeaders(requestIdCarrier())), { kind: 'client' });
}

/** A SERVER span around an in-process query's handler, child of the caller's span (from the carried context), in the serving service. */
export function withQueryServerSpan<T>(query: QueryDef<unknown, unknown>, carrier: HeaderCarrier, handle: () => Promise<T>): Promise<T> {
  const requestId = carrier[REQUEST_ID];
  return runWithRequestId(typeof requestId === 'string' ? requestId : undefined, () =>
    withSpan(queryPath(query).slice(1), attributes(query), handle, { kind: 'server', service: query.service, parent: extractTraceContext(carrier) }),
  );
}
