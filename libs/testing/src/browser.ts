import { existsSync } from 'node:fs';

import { chromium, type Browser } from 'playwright-core';

/** Where Debian's apt package puts the browser; `scripts/install-chromium.sh` installs it. */
export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Flags for a quiet, offline, container-friendly headless chromium: no sandbox (we run as root in
 * CI), no GPU, and no background traffic to Google (QUIC, component updates, sync) that would
 * stall or fail on machines that only reach package registries.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const LAUNCH_TIMEOUT_MS = 30_000;

/** The browser `launchChromium` will start: `CHROMIUM_PATH` when set, else Debian's path. */
export function chromiumExecutablePath(): string {
  return process.env.CHROMIUM_PATH ?? DEFAULT_CHROMIUM_PATH;
}

/**
 * Starts a headless chromium through playwright-core. Each launch gets a fresh temporary
 * user-data-dir: playwright creates one under the OS temp dir for every `launch()` and deletes it
 * on `close()` (it refuses a `--user-data-dir` flag, which would need a persistent context and
 * would not return a `Browser`). Callers must `close()` the browser.
 */
export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumExecutablePath();
  if (!existsSync(executablePath)) {
    throw new Error(`chromium not found at ${executablePath}: run scripts/install-chromium.sh or set CHROMIUM_PATH to a chromium binary`);
  }
  return chromium.launch({
    executablePath,
    headless: true,
    args: [...CHROMIUM_ARGS],
    timeout: LAUNCH_TIMEOUT_MS,
  });
}
