import { queryPath, type QueryDef, type QueryService } from '@adseed/contracts';
import type { Logger } from '@adseed/telemetry';
import { status as GrpcStatus, Server, ServerCredentials, type ServerUnaryCall } from '@grpc/grpc-js';
import { ServerGrpc, type MessageHandler } from '@nestjs/microservices';
import { Counter, Histogram, type Registry } from 'prom-client';
import { BehaviorSubject, defer, distinctUntilChanged, map, type Observable } from 'rxjs';
import { codecOf, fromWire, GrpcStatusError, HEALTH_PROTO, HEALTH_SERVICE, LOADER_OPTIONS, packageOf, PROTO_FILES, toGrpcError } from './grpc.wire';
import { inQueryServerContext } from './query.tracing';
import { asServiceError, parseReply, parseRequest, withDeadline, type QueryHandler, type QueryServer } from './query.port';

type ServingStatus = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

/**
 * Nest's gRPC transport, keeping the port it bound (`GRPC_PORT=0` in tests picks a free one).
 * Its `close()` drains first (`drain`: health NOT_SERVING, then in-flight calls finish within
 * the drain timeout): Nest's own close would otherwise `forceShutdown()` and cancel them (its
 * `gracefulShutdown` option waits with `tryShutdown`, but for as long as a call takes).
 */
class BoundServerGrpc extends ServerGrpc {
  boundPort?: number;
  private readonly bindUrl: string;
  private readonly channelOptions: Record<string, unknown>;
  private readonly drain: () => Promise<void>;

  constructor(options: ConstructorParameters<typeof ServerGrpc>[0] & { channelOptions?: Record<string, unknown>; drain: () => Promise<void> }) {
    super(options);
    this.bindUrl = options.url ?? '0.0.0.0:50051';
    this.channelOptions = options.channelOptions ?? {};
    this.drain = options.drain;
  }

  override async close(): Promise<void> {
    await this.drain();
    // the server has shut down already: this only forgets it
    await super.close();
  }

  override async createClient(): Promise<Server> {
    const server = new Server(this.channelOptions);
    this.boundPort = await new Promise<number>((resolve, reject) => {
      server.bindAsync(this.bindUrl, ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port)));
    });
    return server;
  }

  /** grpc-js' server, once listening (for a graceful shutdown). */
  get grpcServer(): Server | undefined {
    return (this as unknown as { grpcClient?: Server }).grpcClient;
  }
}

const metricsOf = new WeakMap<Registry, { handled: Counter<'method' | 'code'>; duration: Histogram<'method'> }>();
function serverMetrics(registry: Registry) {
  let metrics = metricsOf.get(registry);
  if (!metrics) {
    const registers = [registry];
    metrics = {
      handled: new Counter({
        name: 'adseed_grpc_server_handled_total',
        help: 'gRPC queries answered, by method and status code',
        labelNames: ['method', 'code'],
        registers,
      }),
      duration: new Histogram({
        name: 'adseed_grpc_server_handling_seconds',
        help: 'gRPC query handling time',
        labelNames: ['method'],
        registers,
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      }),
    };
    metricsOf.set(registry, metrics);
  }
  return metrics;
}

export interface GrpcQueryServerOptions {
  /** `host:port` to bind, e.g. `0.0.0.0:50052` (port 0: any free port). */
  url: string;
  logger: Logger;
  registry: Registry;
  /** How long calls in flight at shutdown may take to finish before they are cancelled (`GRPC_DRAIN_TIMEOUT_MS`). */
  drainTimeoutMs?: number;
}

/** Default of `GRPC_DRAIN_TIMEOUT_MS`. */
export const DEFAULT_GRPC_DRAIN_TIMEOUT_MS = 10_000;

/**
 * The gRPC adapter's server side: the queries a service registered (`handle`), served with
 * NestJS's gRPC transport (`Transport.GRPC`) from `proto/adseed/<service>/v1`, plus the standard
 * `grpc.health.v1.Health` (Check and Watch) answering SERVING while the service is ready.
 * Each call runs under the caller's deadline, so the queries it makes in turn inherit it.
 */
export class GrpcQueryServer implements QueryServer {
  private readonly handlers = new Map<string, { query: QueryDef<unknown, unknown>; handler: QueryHandler<unknown, unknown> }>();
  private readonly status = new BehaviorSubject<ServingStatus>('NOT_SERVING');
  private strategy?: BoundServerGrpc;
  private readiness: () => Promise<boolean> = async () => true;
  private draining?: Promise<void>;

  constructor(private readonly options: GrpcQueryServerOptions) {}

  handle<Req, Res>(query: QueryDef<Req, Res>, handler: QueryHandler<Req, Res>): void {
    if (this.strategy) throw new Error(`${queryPath(query)} registered after the gRPC server started`);
    this.handlers.set(queryPath(query), { query, handler: handler as QueryHandler<unknown, unknown> });
  }

  /** The services this process answers for (one gRPC package each). */
  get services(): QueryService[] {
    return [...new Set([...this.handlers.values()].map((h) => h.query.service))];
  }

  /** What health answers: the service's readiness (models loaded, index open). */
  setReadiness(check: () => Promise<boolean>): void {
    this.readiness = check;
  }

  /** Nest's transport strategy for `app.connectMicroservice({ strategy })`, with every handler added. */
  createStrategy(): BoundServerGrpc {
    const services = this.services;
    const strategy = new BoundServerGrpc({
      url: this.options.url,
      package: [...services.map(packageOf), 'grpc.health.v1'],
      protoPath: [...services.map((s) => PROTO_FILES[s]), HEALTH_PROTO],
      loader: LOADER_OPTIONS,
      channelOptions: { 'grpc.max_receive_message_length': 16 * 1024 * 1024 },
      drain: () => this.drain(),
    });
    // Nest looks a method's handler up by this pattern (service, rpc, streaming kind)
    // (Nest calls it with the request, its metadata and the call, and accepts an Observable)
    const add = (service: string, rpc: string, handler: (data: never, metadata: unknown, call: ServerUnaryCall<unknown, unknown>) => Observable<unknown>) =>
      strategy.addHandler(JSON.stringify({ service, rpc, streaming: 'no_stream' }), handler as unknown as MessageHandler);
    for (const { query, handler } of this.handlers.values()) {
      add(query.grpcService, query.method, (data: unknown, _metadata, call) => this.serve(query, handler, data, call));
    }
    add(HEALTH_SERVICE, 'Check', (data: { service?: string }) => defer(async () => ({ status: await this.check(data.service ?? '') })));
    add(HEALTH_SERVICE, 'Watch', (data: { service?: string }) => this.watch(data.service ?? ''));
    this.strategy = strategy;
    return strategy;
  }

  /** Called once the transport listens: health says SERVING (while ready). */
  started(): void {
    this.status.next('SERVING');
    this.options.logger.info('gRPC queries listening', { port: this.port, services: this.services.map(packageOf) });
  }

  get port(): number | undefined {
    return this.strategy?.boundPort;
  }

  /**
   * Graceful shutdown, once however often it is asked for (the platform's
   * `beforeApplicationShutdown`, Nest closing the transport, the runtime's close): health turns
   * NOT_SERVING first (Watch streams see it, then end), so health-checking balancers stop
   * sending; the server stops accepting (listeners closed, GOAWAY on open connections: callers
   * get UNAVAILABLE here and retry an idempotent query on another replica) while the calls in
   * flight finish — for at most the drain timeout, after which they are cancelled.
   */
  drain(): Promise<void> {
    return (this.draining ??= this.shutdown());
  }

  /** Same as `drain()`: the query server's part of closing the runtime. */
  close(): Promise<void> {
    return this.drain();
  }

  private async shutdown(): Promise<void> {
    this.status.next('NOT_SERVING');
    this.status.complete();
    const server = this.strategy?.grpcServer;
    if (!server) return;
    const timeoutMs = this.options.drainTimeoutMs ?? DEFAULT_GRPC_DRAIN_TIMEOUT_MS;
    const started = Date.now();
    const drained = await new Promise<boolean>((resolve) => {
      const force = setTimeout(() => {
        server.forceShutdown();
        resolve(false);
      }, timeoutMs);
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve(true);
      });
    });
    if (drained) this.options.logger.info('gRPC queries drained', { port: this.port, ms: Date.now() - started });
    else this.options.logger.warn('gRPC drain timed out: calls still in flight were cancelled', { port: this.port, timeoutMs });
  }

  private serve(
    query: QueryDef<unknown, unknown>,
    handler: QueryHandler<unknown, unknown>,
    data: unknown,
    call: ServerUnaryCall<unknown, unknown>,
  ): Observable<unknown> {
    const { handled, duration } = serverMetrics(this.options.registry);
    const method = queryPath(query);
    return defer(async () => {
      const end = duration.startTimer({ method });
      try {
        const request = parseRequest(query, fromWire(query.request, data));
        const deadline = call.getDeadline();
        const at = deadline instanceof Date ? deadline.getTime() : Number(deadline);
        const carrier = call.metadata.getMap() as Record<string, string>;
        const reply = parseReply(
          query,
          await withDeadline(Number.isFinite(at) ? at : undefined, () => inQueryServerContext(query, carrier, () => handler(request))),
        );
        handled.inc({ method, code: 'OK' });
        return codecOf(query).replyToWire(reply);
      } catch (error) {
        const failure = asServiceError(query, error);
        if (failure.status >= 500)
          this.options.logger.warn('gRPC query failed', { method, status: failure.status, code: failure.code, error: failure.message });
        const grpcError = toGrpcError(failure);
        handled.inc({ method, code: String(grpcError.code) });
        throw grpcError;
      } finally {
        end();
      }
    });
  }

  private async check(service: string): Promise<ServingStatus> {
    if (service !== '' && ![...this.handlers.values()].some((h) => h.query.grpcService === service)) {
      throw new GrpcStatusError(GrpcStatus.NOT_FOUND, `unknown service ${service}`);
    }
    if (this.status.value !== 'SERVING') return this.status.value;
    return (await this.readiness().catch(() => false)) ? 'SERVING' : 'NOT_SERVING';
  }

  private watch(service: string): Observable<{ status: ServingStatus }> {
    const known = service === '' || [...this.handlers.values()].some((h) => h.query.grpcService === service);
    return this.status.pipe(
      map((s) => (known ? s : 'SERVICE_UNKNOWN')),
      distinctUntilChanged(),
      map((status) => ({ status })),
    );
  }
}
