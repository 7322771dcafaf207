export { startAdseed, REPO_ROOT, DEFAULT_DEMO_LIBRARY, type AdseedOptions, type RunningAdseed } from './adseed.app';
export { parseManifest, seedDemoLibrary, DEMO_ATTRIBUTION } from './demo-library';
