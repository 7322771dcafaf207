import 'reflect-metadata';
import { CommonEnv, ConfigError, loadConfig } from '@adseed/config';
import { NestLoggerAdapter } from '@adseed/telemetry';
import type { DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { z } from 'zod';
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
  const runtime = await createRuntime(definition.name, common);
  const app = await NestFactory.create<NestExpressApplication>(definition.module(runtime, own, { http: true }), {
    logger: new NestLoggerAdapter(runtime.logger),
  });
  app.enableShutdownHooks();
  await app.listen(common.PORT, '0.0.0.0');
  runtime.logger.info(`${definition.name} listening`, { port: common.PORT });
}
