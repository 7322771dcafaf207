import 'reflect-metadata';
import { CommonEnv, ConfigError, EXIT_CONFIG, loadConfigs } from '@adseed/config';
import { Logger, type Tracing } from '@adseed/telemetry';
import { Inject, Injectable, Module, type DynamicModule, type INestApplication, type OnApplicationShutdown } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { MicroserviceOptions } from '@nestjs/microservices';
import { HealthCheckService } from '@nestjs/terminus';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import { z } from 'zod';
import { classifyFailure } from './failures';
import { Readiness } from './health.module';
import { GrpcQueryServer } from './queries/grpc.query-server';
import { requestIdMiddleware } from './request-id';
import { createRuntime, startServiceTracing, type ServiceRuntime } from './service-runtime';

export interface ServiceDefinition<E extends z.ZodType> {
  name: string;
  /** The service's own variables, merged with the common ones and validated together. */
  env: E;
  module(runtime: ServiceRuntime, env: z.infer<E>, options: { http: boolean }): DynamicModule;
}

/** sysexits.h: a dependency could not be reached (69), anything else that went wrong (70). */
export const EXIT_UNAVAILABLE = 69;
export const EXIT_SOFTWARE = 70;

/** A service running on its own: the in-process bus cannot reach the other services. */
export const OwnProcessEnv = z.object({ ADSEED_BUS: z.string().optional() }).superRefine((env, ctx) => {
  if ((env.ADSEED_BUS ?? 'memory') === 'memory') {
    ctx.addIssue({
      code: 'custom',
      path: ['ADSEED_BUS'],
      message: 'memory only works when all services share one process (npm start); set ADSEED_BUS=kafka and KAFKA_BROKERS',
    });
  }
});

/**
 * Runs a process's start-up and turns its failure into an exit code an operator can act on:
 * a configuration problem exits 78 (EX_CONFIG) listing every problem on stderr; a dependency
 * that cannot be reached 69 (EX_UNAVAILABLE), anything else 70 (EX_SOFTWARE), each after one
 * structured log line with the error's stack and cause chain. Never an unhandled rejection.
 */
export function runMain(name: string, start: () => Promise<unknown>, options: { logFormat?: 'json' | 'pretty' } = {}): void {
  start().catch((error: unknown) => exitOnStartupFailure(name, error, options));
}

export function exitOnStartupFailure(name: string, error: unknown, options: { logFormat?: 'json' | 'pretty' } = {}): never {
  if (error instanceof ConfigError) {
    process.stderr.write(`${name}: ${error.message}\n`);
    process.exit(EXIT_CONFIG);
  }
  const format = options.logFormat ?? (process.env.LOG_FORMAT === 'pretty' ? 'pretty' : 'json');
  new Logger({ service: name, format }).error(`${name} failed to start`, { error });
  process.exit(classifyFailure(error) === 'internal' ? EXIT_SOFTWARE : EXIT_UNAVAILABLE);
}

/** The HTTP app's cross-cutting parts: request ids first, then nestjs-pino as Nest's logger. */
export function configureHttpApp(app: INestApplication): void {
  (app as NestExpressApplication).use(requestIdMiddleware);
  app.useLogger(app.get(PinoNestLogger));
  app.flushLogs();
}

/** `node services/<name>/dist/main.js`: validate env, build the runtime, serve HTTP. */
export function runService<E extends z.ZodType>(definition: ServiceDefinition<E>): void {
  runMain(
    definition.name,
    async () => {
      // Every variable of every schema at once: one exit, the whole list.
      const config = loadConfigs({ common: CommonEnv, own: definition.env, process: OwnProcessEnv });
      // Before anything that could open a span; OTEL_* variables choose the exporter (none by default).
      const tracing = startServiceTracing(definition.name);
      const runtime = await createRuntime(definition.name, config.common, { tracing });
      const app = await NestFactory.create<NestExpressApplication>(TracedServiceModule.wrap(definition.module(runtime, config.own, { http: true }), tracing), {
        bufferLogs: true,
      });
      configureHttpApp(app);
      app.enableShutdownHooks();
      // the service registers the queries it answers while it boots; then they are served over gRPC
      await app.init();
      await serveQueries(app, runtime);
      await app.listen(config.common.PORT, '0.0.0.0');
      runtime.logger.info(`${definition.name} listening`, { port: config.common.PORT });
    },
    { logFormat: process.env.LOG_FORMAT === 'pretty' ? 'pretty' : 'json' },
  );
}

/**
 * Serves the queries the service registered over NestJS's gRPC transport (with grpc.health.v1
 * following the service's readiness), next to its HTTP port. Services that answer no query open
 * no gRPC port.
 */
export async function serveQueries(app: INestApplication, runtime: ServiceRuntime): Promise<GrpcQueryServer | undefined> {
  const server = runtime.queryServer;
  if (!(server instanceof GrpcQueryServer) || server.services.length === 0) return undefined;
  const readiness = app.get(Readiness);
  const health = app.get(HealthCheckService);
  server.setReadiness(async () => {
    try {
      await health.check(readiness.indicatorFunctions());
      return true;
    } catch {
      return false;
    }
  });
  app.connectMicroservice<MicroserviceOptions>({ strategy: server.createStrategy() }, { inheritAppConfig: true });
  await app.startAllMicroservices();
  server.started();
  return server;
}

const TRACING = Symbol('TRACING');

/** Flushes the last spans when the service shuts down (SIGTERM → Nest's shutdown hooks). */
@Injectable()
class TracingShutdown implements OnApplicationShutdown {
  constructor(@Inject(TRACING) private readonly tracing: Tracing) {}
  onApplicationShutdown(): Promise<void> {
    return this.tracing.shutdown();
  }
}

@Module({})
class TracedServiceModule {
  static wrap(service: DynamicModule, tracing: Tracing): DynamicModule {
    return { module: TracedServiceModule, imports: [service], providers: [{ provide: TRACING, useValue: tracing }, TracingShutdown] };
  }
}
