import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureCaptionModel, generateClipModels, sharedClipTokenizerDir } from '@adseed/embedding';
import { REPO_ROOT, startAdseed, type AdseedOptions, type RunningAdseed } from '../adseed.app';

export const CACHE_DIR = resolve(process.env.ADSEED_CACHE_DIR ?? join(REPO_ROOT, '.cache'));

/**
 * The models the end-to-end tests run on: the real all-MiniLM-L6-v2 caption encoder (Maven
 * Central) and a small CLIP-shaped model the project generates (the real CLIP weights cannot be
 * fetched here), which ranks images by colour through the real tokenizer and preprocessing.
 */
export async function testModels(): Promise<{ captionModelDir: string; clipModelDir: string }> {
  const captionModelDir = await ensureCaptionModel(CACHE_DIR);
  const clipModelDir = join(CACHE_DIR, 'models', 'clip-toy');
  if (!existsSync(join(clipModelDir, 'onnx', 'text_model.onnx'))) {
    await generateClipModels({ kind: 'toy', outDir: clipModelDir, tokenizerDir: sharedClipTokenizerDir() });
  }
  return { captionModelDir, clipModelDir };
}

export interface TestApp extends RunningAdseed {
  dataDir: string;
  api(path: string, init?: RequestInit & { tenant?: string; json?: unknown }): Promise<Response>;
  stop(): Promise<void>;
}

export async function startTestApp(options: Partial<AdseedOptions> = {}): Promise<TestApp> {
  const models = await testModels();
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'adseed-e2e-')));
  const logs: string[] = [];
  const app = await startAdseed({
    port: 0,
    seedLibraryDir: null,
    ...models,
    logSink: (line) => logs.push(line),
    ...options,
    dataDir,
  });
  return {
    ...app,
    dataDir,
    api: (path, init = {}) => {
      const { tenant, json, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (tenant) headers.set('x-tenant-id', tenant);
      if (json !== undefined) headers.set('content-type', 'application/json');
      return fetch(`${app.url}${path}`, { ...rest, headers, ...(json !== undefined ? { body: JSON.stringify(json) } : {}) });
    },
    stop: async () => {
      await app.close();
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export { DEFAULT_DEMO_LIBRARY as DEMO_LIBRARY } from '../demo-library';
