import { queryPath, type QueryDef } from '@adseed/contracts';
import { currentRequestId, extractTraceContext, injectTraceHeaders, runWithRequestId, withSpan, type HeaderCarrier, type SpanAttributes } from '@adseed/telemetry';

/** Carries the caller's request id (as bus messages do), so the server's log lines have it too. */
const REQUEST_ID = 'adseed-request-id';

type RpcSystem = 'grpc' | 'in-process';

const attributes = (query: QueryDef<unknown, unknown>, system: RpcSystem): SpanAttributes => ({
  'rpc.system': system,
  'rpc.service': query.grpcService,
  'rpc.method': query.method,
});

/** A CLIENT span around a query; `send` gets the trace context and request id to carry (gRPC metadata). */
export function withQueryClientSpan<T>(query: QueryDef<unknown, unknown>, system: RpcSystem, send: (carrier: Record<string, string>) => Promise<T>): Promise<T> {
  const requestId = currentRequestId();
  return withSpan(queryPath(query).slice(1), attributes(query, system), () => send(injectTraceHeaders(requestId ? { [REQUEST_ID]: requestId } : {})), { kind: 'client' });
}

/** A SERVER span around a query's handler, child of the caller's span (from the carried context), in the serving service. */
export function withQueryServerSpan<T>(query: QueryDef<unknown, unknown>, system: RpcSystem, carrier: HeaderCarrier, handle: () => Promise<T>): Promise<T> {
  const requestId = carrier[REQUEST_ID];
  return runWithRequestId(typeof requestId === 'string' ? requestId : undefined, () =>
    withSpan(queryPath(query).slice(1), attributes(query, system), handle, { kind: 'server', service: query.service, parent: extractTraceContext(carrier) }),
  );
}
