// First: the instrumentations must patch Nest, Express, grpc-js, kafkajs and pino before they are loaded.
import '@adseed/telemetry/dist/instrument';
import { runService } from '@adseed/platform';
import { AgentService } from './agent.module';

runService(AgentService);
