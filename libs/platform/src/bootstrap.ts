import 'reflect-metadata';
import { CommonEnv, ConfigError, loadConfig } from '@adseed/config';
import { NestLoggerAdapter, startTracing, type Tracing } from '@adseed/telemetry';
import { Inject, Injectable, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { z } from 'zod';
import type { INestApplication } from '@nestjs/common';
import type { MicroserviceOptions } from '@nestjs/microservices';
import { Readiness } from './health.module';
import { HttpMetricsInterceptor } from './http-metrics.interceptor';
import { GrpcQueryServer } from './queries/grpc.query-server';
import { createRuntime, type ServiceRuntime } from './service-runtime';

export interface ServiceDefinition<E extends z.ZodType> {
  name: string;
  /** The service's own variables, merged with the common ones and validated together. */
  env: E;
  module(runtime: ServiceRuntime, env: z.infer<E>, options: { http: boolean }): DynamicModule;
}

/** `node services/<name>/dist/main.js`: validate env, build the runtime, serve HTTP. */
export async function runService<E extends z.ZodType>(definition: ServiceDefinition<E>): Promise<void> {
  let common: CommonEnv;
  let own: z.infer<E>;
  try {
    common = loadConfig(CommonEnv);
    own = loadConfig(definition.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${definition.name}: ${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  // Before anything that could open a span; OTEL_* variables choose the exporter (none by default).
  let tracing: Tracing;
  try {
    tracing = startTracing({ serviceName: definition.name });
  } catch (error) {
    process.stderr.write(`${definition.name}: ${(error as Error).message}\n`);
    process.exit(78);
  }
  const runtime = await createRuntime(definition.name, common, { tracing });
  const app = await NestFactory.create<NestExpressApplication>(TracedServiceModule.wrap(definition.module(runtime, own, { http: true }), tracing), {
    logger: new NestLoggerAdapter(runtime.logger),
  });
  app.useGlobalInterceptors(new HttpMetricsInterceptor(runtime));
  app.enableShutdownHooks();
  // the service registers the queries it answers while it boots; then they are served over gRPC
  await app.init();
  await serveQueries(app, runtime);
  await app.listen(common.PORT, '0.0.0.0');
  runtime.logger.info(`${definition.name} listening`, { port: common.PORT });
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
  server.setReadiness(async () => (await readiness.evaluate()).ready);
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
