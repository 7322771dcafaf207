import { join } from 'node:path';
import { Queries, queryPath, type QueryDef, type QueryService } from '@adseed/contracts';
import type { Logger } from '@adseed/telemetry';
import { Client, credentials, Metadata, type ServiceError as GrpcServiceError } from '@grpc/grpc-js';
import { loadSync, type MethodDefinition, type PackageDefinition } from '@grpc/proto-loader';
import { Counter, Histogram, type Registry } from 'prom-client';
import { codecOf, fromGrpcError, fromWire, LOADER_OPTIONS, PROTO_DIR, PROTO_FILES } from './grpc.wire';
import { requestIdCarrier } from './query.tracing';
import { deadlineOf, parseReply, parseRequest, UpstreamTimeoutError, type CallOptions, type QueryClient } from './query.port';

export interface GrpcQueryClientOptions {
  /** Target per service, e.g. `dns:///retrieval-headless:50051` (all replicas, round robin). */
  targets: Partial<Record<QueryService, string>>;
  /** The root budget (`ADSEED_REQUEST_TIMEOUT_MS`): no call is given longer. */
  rootTimeoutMs: number;
  logger: Logger;
  registry?: Registry;
  /** Attempts of an idempotent call that keeps meeting UNAVAILABLE (grpc-js retry policy). */
  maxAttempts?: number;
}

/**
 * The channel's service config: round robin over every address the target resolves to (a
 * headless Service gives one per pod), and for idempotent queries retries on UNAVAILABLE with
 * exponential back-off — always inside the call's deadline.
 */
export function serviceConfig(service: QueryService, maxAttempts: number): string {
  const idempotent = Object.values(Queries as Record<string, QueryDef<unknown, unknown>>).filter((q) => q.service === service && q.idempotent);
  return JSON.stringify({
    loadBalancingConfig: [{ round_robin: {} }],
    methodConfig:
      idempotent.length && maxAttempts >= 2
        ? [
            {
              name: idempotent.map((q) => ({ service: q.grpcService, method: q.method })),
              retryPolicy: { maxAttempts, initialBackoff: '0.05s', maxBackoff: '0.5s', backoffMultiplier: 2, retryableStatusCodes: ['UNAVAILABLE'] },
            },
          ]
        : [],
  });
}

const metricsOf = new WeakMap<Registry, { calls: Counter<'method' | 'code'>; duration: Histogram<'method'> }>();
function clientMetrics(registry: Registry) {
  let metrics = metricsOf.get(registry);
  if (!metrics) {
    const registers = [registry];
    metrics = {
      calls: new Counter({
        name: 'adseed_grpc_client_calls_total',
        help: 'gRPC queries made, by method and outcome (HTTP-like status)',
        labelNames: ['method', 'code'],
        registers,
      }),
      duration: new Histogram({
        name: 'adseed_grpc_client_call_seconds',
        help: 'gRPC query time seen by the caller',
        labelNames: ['method'],
        registers,
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      }),
    };
    metricsOf.set(registry, metrics);
  }
  return metrics;
}

/**
 * The gRPC adapter's caller side (`@grpc/grpc-js`): one channel per service, a deadline on every
 * call (the query's budget within the caller's own), validation of request and reply, and the
 * server's `ServiceError` rebuilt from the call's metadata.
 */
export class GrpcQueryClient implements QueryClient {
  private readonly clients = new Map<QueryService, Client>();
  private readonly definitions = new Map<QueryService, PackageDefinition>();

  constructor(private readonly options: GrpcQueryClientOptions) {}

  /** The gRPC instrumentation makes the CLIENT span and puts its trace context in the call's metadata. */
  async call<Req, Res>(query: QueryDef<Req, Res>, request: Req, options?: CallOptions): Promise<Res> {
    const carrier = requestIdCarrier();
    const deadline = deadlineOf(query, options, this.options.rootTimeoutMs);
    const budget = deadline - Date.now();
    if (budget <= 0) throw new UpstreamTimeoutError(query, budget);
    const parsed = parseRequest(query, request);
    const method = this.methodOf(query);
    const client = this.clientFor(query.service);
    const metrics = this.options.registry ? clientMetrics(this.options.registry) : undefined;
    const end = metrics?.duration.startTimer({ method: queryPath(query) });
    try {
      const wire = await new Promise<unknown>((resolve, reject) => {
        const metadata = new Metadata();
        for (const [key, value] of Object.entries(carrier)) metadata.set(key, value);
        client.makeUnaryRequest(
          queryPath(query),
          method.requestSerialize,
          method.responseDeserialize,
          parsed,
          metadata,
          { deadline },
          (error: GrpcServiceError | null, value?: unknown) => (error ? reject(fromGrpcError(query, error, budget)) : resolve(value)),
        );
      });
      const reply = parseReply(query, codecOf(query).replyFromWire(fromWire(query.reply, wire)));
      metrics?.calls.inc({ method: queryPath(query), code: '200' });
      return reply;
    } catch (error) {
      metrics?.calls.inc({ method: queryPath(query), code: String((error as { status?: number }).status ?? 500) });
      throw error;
    } finally {
      end?.();
    }
  }

  async close(): Promise<void> {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }

  private clientFor(service: QueryService): Client {
    let client = this.clients.get(service);
    if (!client) {
      const target = this.options.targets[service];
      if (!target) throw new Error(`no gRPC address for the ${service} service (set ${service.toUpperCase()}_GRPC_URL)`);
      client = new Client(target, credentials.createInsecure(), {
        'grpc.service_config': serviceConfig(service, this.options.maxAttempts ?? 3),
        'grpc.enable_retries': 1,
        // a replica that went away is noticed within seconds, not at the next call's timeout
        'grpc.keepalive_time_ms': 30_000,
        'grpc.keepalive_timeout_ms': 5_000,
        // a restarted replica is reconnected within ~2 s (grpc-js would back off up to 120 s)
        'grpc.initial_reconnect_backoff_ms': 200,
        'grpc.max_reconnect_backoff_ms': 2_000,
        // DNS is asked again this often, so new replicas behind a headless Service get traffic
        'grpc.dns_min_time_between_resolutions_ms': 5_000,
        'grpc.max_receive_message_length': 16 * 1024 * 1024,
      });
      this.clients.set(service, client);
      this.options.logger.info('gRPC channel', { service, target });
    }
    return client;
  }

  private methodOf(query: QueryDef<unknown, unknown>): MethodDefinition<unknown, unknown> {
    let definition = this.definitions.get(query.service);
    if (!definition) {
      definition = loadSync(join(PROTO_DIR, PROTO_FILES[query.service]), LOADER_OPTIONS);
      this.definitions.set(query.service, definition);
    }
    const service = definition[query.grpcService] as Record<string, MethodDefinition<unknown, unknown>> | undefined;
    const method = service?.[query.method];
    if (!method) throw new Error(`${queryPath(query)} is not in ${PROTO_FILES[query.service]}`);
    return method;
  }
}
