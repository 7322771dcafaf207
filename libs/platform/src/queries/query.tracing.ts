import { queryPath, type QueryDef } from '@adseed/contracts';
import { extractTraceContext, injectTraceHeaders, withSpan, type HeaderCarrier, type SpanAttributes } from '@adseed/telemetry';

type RpcSystem = 'grpc' | 'in-process';

const attributes = (query: QueryDef<unknown, unknown>, system: RpcSystem): SpanAttributes => ({
  'rpc.system': system,
  'rpc.service': query.grpcService,
  'rpc.method': query.method,
});

/** A CLIENT span around a query; `send` gets the trace context to carry (gRPC metadata). */
export function withQueryClientSpan<T>(query: QueryDef<unknown, unknown>, system: RpcSystem, send: (carrier: Record<string, string>) => Promise<T>): Promise<T> {
  return withSpan(queryPath(query).slice(1), attributes(query, system), () => send(injectTraceHeaders({})), { kind: 'client' });
}

/** A SERVER span around a query's handler, child of the caller's span (from the carried context), in the serving service. */
export function withQueryServerSpan<T>(query: QueryDef<unknown, unknown>, system: RpcSystem, carrier: HeaderCarrier, handle: () => Promise<T>): Promise<T> {
  return withSpan(queryPath(query).slice(1), attributes(query, system), handle, { kind: 'server', service: query.service, parent: extractTraceContext(carrier) });
}
