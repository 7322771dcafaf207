import 'reflect-metadata';
import { CommonEnv, ConfigError, loadConfig } from '@adseed/config';
import { createRuntime } from '@adseed/platform';
import { GatewayEnv } from './gateway.env';
import { createGatewayApp } from './gateway.module';

async function main(): Promise<void> {
  let common: CommonEnv;
  let env: GatewayEnv;
  try {
    common = loadConfig(CommonEnv);
    env = loadConfig(GatewayEnv);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`gateway: ${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
  const runtime = await createRuntime('gateway', common);
  const app = await createGatewayApp(runtime, env);
  await app.listen(common.PORT, '0.0.0.0');
  runtime.logger.info('gateway listening', { port: common.PORT });
}

void main();
