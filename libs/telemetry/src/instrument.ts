/**
 * The first import of every `main.ts` (`import '@adseed/telemetry/dist/instrument'`), or
 * `node --require @adseed/telemetry/dist/instrument`: registers the instrumentations before
 * Nest, Express, grpc-js, kafkajs and pino are loaded, when the environment asks for tracing.
 * The SDK itself starts later, with the service's name (`startTracing` in `createRuntime`, or
 * `startAdseed` in the one-process mode); a bad `OTEL_*` value is reported there (exit 78).
 */
import { registerInstrumentations } from './instrumentations';
import { resolveTracingConfig } from './tracing';

let wanted = false;
try {
  wanted = resolveTracingConfig(process.env, '').enabled;
} catch {
  // reported by startTracing, with the service's start-up errors
}
if (wanted) registerInstrumentations();
