/**
 * The one-process product in a child process, for the kill -9 test (`crash-recovery.e2e.spec.ts`):
 * starts on the given data directory and tells its parent its URL. Encoder batches wait a second
 * for company, so the parent's uploads are stored and queued but not yet embedded when it kills.
 */
import { startAdseed } from '../adseed.app';
import { testModels } from './harness';

async function main(): Promise<void> {
  const [dataDir] = process.argv.slice(2);
  const app = await startAdseed({
    dataDir,
    port: 0,
    seedLibraryDir: null,
    ...(await testModels()),
    env: { ADSEED_ENCODER_BATCH_SIZE: '256', ADSEED_ENCODER_BATCH_WAIT_MS: '1000' },
    logSink: () => undefined,
  });
  await app.requeued;
  await app.demoLibrary;
  process.send?.({ url: app.url });
}

main().catch((error: Error) => {
  process.stderr.write(`crash child failed: ${error.stack}\n`);
  process.exit(1);
});
