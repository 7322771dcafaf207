export { CHROMIUM_ARGS, DEFAULT_CHROMIUM_PATH, chromiumExecutablePath, launchChromium } from './browser';
export { unusedPort } from './ports';
