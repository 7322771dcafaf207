/**
 * `import '@adseed/telemetry/dist/register'` as a file's first import: registers the
 * instrumentations whatever the environment says (tests that start tracing later, in process).
 * Services use `instrument` instead, which registers them only when tracing is configured.
 */
import { registerInstrumentations } from './instrumentations';

registerInstrumentations();
