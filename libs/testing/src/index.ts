export { CHROMIUM_ARGS, DEFAULT_CHROMIUM_PATH, chromiumExecutablePath, launchChromium } from './browser';
export { unusedPort } from './ports';
export {
  FAKE_OUTPUT_SIZE,
  ReplicateFakeServer,
  type FakePrediction,
  type RecordedRequest,
  type ReplicateFakeBehaviour,
  type ScriptedReply,
} from './replicate-fake.server';
export { SAMPLE_PHOTOS_DIR } from './sample-photos';
