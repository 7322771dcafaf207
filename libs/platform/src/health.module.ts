import {
  Controller,
  Get,
  Header,
  HttpCode,
  HttpException,
  Inject,
  Injectable,
  Module,
  Req,
  Res,
  ServiceUnavailableException,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { HealthCheckService, HealthIndicatorService, TerminusModule, type HealthCheckResult, type HealthIndicatorFunction } from '@nestjs/terminus';
import { ObjectNotFoundError } from '@adseed/storage';
import type { Request, Response } from 'express';
import { LoggerModule } from 'nestjs-pino';
import { HttpMetricsInterceptor } from './http-metrics.interceptor';
import { KafkaClusterProbe } from './kafka.probe';
import { METRICS_ACCESS, METRICS_CONTENT_TYPE, MetricsEndpoint, MetricsListener, type MetricsAccessOptions } from './metrics-endpoint';
import { GrpcQueryServer } from './queries/grpc.query-server';
import { pinoHttpOptions } from './request-logging';
import { BUCKETS, CLOCK, DATA_DIR, EVENT_BUS, LOGGER, METRICS, OBJECT_STORE, QUERY_CLIENT, QUERY_SERVER, SERVICE_CONFIG, type Clock } from './tokens';
import { RUNTIME, type ServiceRuntime } from './service-runtime';

export type ReadinessCheck = () => Promise<{ ok: boolean; detail?: string }>;

/** How long one dependency may take to answer a readiness probe before it counts as down. */
const CHECK_TIMEOUT_MS = 3_000;

/**
 * What must be true before the service takes traffic. The platform registers the service's
 * dependencies (the event bus's Kafka cluster, the object store and its buckets); services add
 * their own (models loaded, index open, Qdrant, Triton).
 */
@Injectable()
export class Readiness implements OnApplicationShutdown {
  private readonly checks = new Map<string, ReadinessCheck>();
  private readonly buckets = new Set<string>();
  private readonly kafka?: KafkaClusterProbe;

  constructor(
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly indicators: HealthIndicatorService,
  ) {
    if (runtime.env.ADSEED_BUS === 'kafka') this.kafka = new KafkaClusterProbe(runtime.env, runtime.service);
  }

  register(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  /** Buckets this service cannot work without: readiness fails until each exists. */
  requireBuckets(...buckets: string[]): void {
    for (const bucket of buckets) this.buckets.add(bucket);
  }

  /** Terminus indicators, one per dependency, each bounded by a timeout. */
  indicatorFunctions(): HealthIndicatorFunction[] {
    const fns: HealthIndicatorFunction[] = [];
    const kafka = this.kafka;
    if (kafka)
      fns.push(() =>
        this.indicators
          .check('kafka')
          .attempt(() => kafka.describe())
          .withTimeout(CHECK_TIMEOUT_MS),
      );
    fns.push(() =>
      this.indicators
        .check('objectStore')
        .attempt(() => this.checkStore())
        .withTimeout(CHECK_TIMEOUT_MS),
    );
    for (const [name, check] of this.checks) {
      fns.push(() =>
        this.indicators
          .check(name)
          .attempt(async () => {
            const { ok, detail } = await check();
            if (!ok) throw new Error(detail ?? 'not ready');
            return detail ? { detail } : {};
          })
          .withTimeout(CHECK_TIMEOUT_MS),
      );
    }
    return fns;
  }

  /**
   * Lists one key of every required bucket (a round trip with our credentials); with none
   * required, the seeds bucket, where a missing bucket still proves the store answers.
   */
  private async checkStore(): Promise<Record<string, unknown>> {
    const { store, buckets, env } = this.runtime;
    if (this.buckets.size === 0) {
      try {
        await store.list(buckets.seed, '', { limit: 1 });
      } catch (error) {
        // Services start before the gateway creates the buckets: the store answering is enough.
        if (!isMissingBucket(error)) throw error;
      }
      return { store: env.ADSEED_STORE };
    }
    for (const bucket of this.buckets) {
      try {
        await store.list(bucket, '', { limit: 1 });
      } catch (error) {
        if (isMissingBucket(error)) throw new Error(`bucket ${bucket} does not exist`, { cause: error });
        throw error;
      }
    }
    return { store: env.ADSEED_STORE, buckets: [...this.buckets] };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.kafka?.close();
  }
}

/**
 * A bucket that is not there: the fs store's `ObjectNotFoundError`, or S3's `NoSuchBucket` error
 * that the MinIO client raises from a listing. Either way the store answered.
 */
const isMissingBucket = (error: unknown): boolean => error instanceof ObjectNotFoundError || (error as { code?: unknown } | undefined)?.code === 'NoSuchBucket';

@Controller()
export class HealthController {
  constructor(
    private readonly readiness: Readiness,
    private readonly health: HealthCheckService,
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly metricsEndpoint: MetricsEndpoint,
  ) {}

  /** Liveness: the process answers. Never asks a dependency (a broker outage must not restart pods). */
  @Get(['healthz', 'livez'])
  @HttpCode(200)
  live(): { status: 'ok'; service: string } {
    return { status: 'ok', service: this.runtime.service };
  }

  /** Readiness: every dependency answers (`status: ok`), else 503 with each one's state. */
  @Get('readyz')
  async ready(@Res({ passthrough: true }) res: Response): Promise<HealthCheckResult> {
    try {
      return await this.health.check(this.readiness.indicatorFunctions());
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      res.status(503);
      return error.getResponse() as HealthCheckResult;
    }
  }

  @Get('metrics')
  @Header('Content-Type', METRICS_CONTENT_TYPE)
  async metrics(@Req() request: Request): Promise<string> {
    const refused = this.metricsEndpoint.refusal(request.header('authorization'), 'service');
    if (refused) throw new HttpException(refused.message, refused.status);
    return this.metricsEndpoint.scrape();
  }
}

/**
 * Closes the runtime when the service stops (SIGTERM with `enableShutdownHooks`, or `app.close()`):
 * the platform module is every service's deepest import, so this runs after the service's own
 * shutdown hooks (which may still publish), and the bus flushes and leaves its groups last.
 */
@Injectable()
export class RuntimeShutdown implements OnApplicationShutdown {
  constructor(@Inject(RUNTIME) private readonly runtime: ServiceRuntime) {}
  async onApplicationShutdown(): Promise<void> {
    await this.runtime.close();
  }
}

/**
 * Stops taking work when the service starts to stop, before anything closes (Nest disposes
 * microservices before any `onApplicationShutdown`, and the services close their encoders and
 * index there): the gRPC queries drain (health turns NOT_SERVING, the calls in flight finish
 * within `GRPC_DRAIN_TIMEOUT_MS`), then the bus's consumers finish the message in hand and leave
 * their groups, so the other replicas take the partitions and no handler runs against a closed
 * encoder or index (an ingest event handled then was dead-lettered as permanently failed). The
 * producers, the store and the query channels stay open; RuntimeShutdown closes them afterwards.
 */
@Injectable()
export class ShutdownIntake implements BeforeApplicationShutdown {
  constructor(@Inject(RUNTIME) private readonly runtime: ServiceRuntime) {}
  async beforeApplicationShutdown(): Promise<void> {
    const server = this.runtime.queryServer;
    if (server instanceof GrpcQueryServer) await server.drain();
    await this.runtime.bus.stopConsuming();
  }
}

@Module({})
export class PlatformModule {
  /**
   * Provides the runtime (and its parts) to the whole service; `http` adds the health endpoints,
   * request logging (nestjs-pino, with the request id), HTTP metrics and `/metrics` (on
   * `METRICS_PORT` alone when set). `metrics.protect`: see MetricsEndpoint. `config` is the
   * service's validated configuration, provided as SERVICE_CONFIG; `clock` replaces the wall clock.
   */
  static forRoot(runtime: ServiceRuntime, options: { http: boolean; metrics?: MetricsAccessOptions; config?: object; clock?: Clock }): DynamicModule {
    const ports = [
      { provide: EVENT_BUS, useValue: runtime.bus },
      { provide: OBJECT_STORE, useValue: runtime.store },
      { provide: QUERY_CLIENT, useValue: runtime.queries },
      { provide: QUERY_SERVER, useValue: runtime.queryServer },
      { provide: LOGGER, useValue: runtime.logger },
      { provide: METRICS, useValue: runtime.metrics },
      { provide: BUCKETS, useValue: runtime.buckets },
      { provide: DATA_DIR, useValue: runtime.dataDir },
      { provide: SERVICE_CONFIG, useValue: options.config ?? runtime.env },
      { provide: CLOCK, useValue: options.clock ?? (() => new Date()) },
    ];
    return {
      module: PlatformModule,
      global: true,
      imports: [TerminusModule.forRoot({ logger: false }), ...(options.http ? [LoggerModule.forRoot({ pinoHttp: pinoHttpOptions(runtime.logger.pino) })] : [])],
      controllers: options.http ? [HealthController] : [],
      providers: [
        { provide: RUNTIME, useValue: runtime },
        { provide: METRICS_ACCESS, useValue: options.metrics ?? {} },
        ...ports,
        Readiness,
        ShutdownIntake,
        RuntimeShutdown,
        MetricsEndpoint,
        ...(options.http
          ? [MetricsListener, { provide: APP_INTERCEPTOR, useFactory: (r: ServiceRuntime) => new HttpMetricsInterceptor(r), inject: [RUNTIME] }]
          : []),
      ],
      exports: [RUNTIME, ...ports.map((p) => p.provide), Readiness],
    };
  }
}
