// First: the instrumentations must patch Nest, Express, grpc-js, kafkajs and pino before they are loaded.
import '@adseed/telemetry/dist/instrument';
import 'reflect-metadata';
import { CommonEnv, loadConfigs } from '@adseed/config';
import { createRuntime, OwnProcessEnv, runMain } from '@adseed/platform';
import { GatewayEnv } from './gateway.env';
import { createGatewayApp } from './gateway.module';

runMain('gateway', async () => {
  // Every variable at once: one exit 78 with the whole list.
  const { common, env } = loadConfigs({ common: CommonEnv, env: GatewayEnv, process: OwnProcessEnv });
  const runtime = await createRuntime('gateway', common);
  const app = await createGatewayApp(runtime, env);
  // SIGTERM closes the app (drain, stop consuming, close). Here, not in createGatewayApp: the
  // one-process mode handles its signals itself and closes all five services in order, and a
  // second hook would re-raise the signal once the gateway alone had closed, killing the rest.
  app.enableShutdownHooks();
  await app.listen(common.PORT, '0.0.0.0');
  runtime.logger.info('gateway listening', { port: common.PORT });
});
