/**
 * Latency of the local generator on a real photo at 1080×1080 with headline and call to action.
 * Run: node services/generation/dist/generators/local-ad.generator.bench.js [runs]
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';

import { renderDemoBrandPack } from './demo-brand';
import { LocalAdGenerator } from './local-ad.generator';

/** Sample photo library; override with ADSEED_PETS_DIR. */
// Compiled to services/generation/dist/generators/: ../shared sits beside the repository.
export const PET_PHOTOS_DIR = process.env.ADSEED_PETS_DIR ?? resolve(__dirname, '../../../../../shared/datasets/oxford-pets-sample');

export interface LatencySummary {
  runs: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
}

export interface BenchSkipped {
  skipped: string;
}

/** First `.jpg` in the sample library (sorted, so the choice is stable), or undefined if absent. */
export async function firstSamplePhoto(dir = PET_PHOTOS_DIR): Promise<string | undefined> {
  let breeds: string[];
  try {
    breeds = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch {
    return undefined;
  }
  for (const breed of breeds) {
    const photos = (await readdir(join(dir, breed))).filter((name) => name.toLowerCase().endsWith('.jpg')).sort();
    if (photos.length > 0) return join(dir, breed, photos[0]);
  }
  return undefined;
}

/** Nearest-rank percentile of ascending `sorted`. */
function percentile(sorted: number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

/**
 * Times `runs` sequential generations after one untimed warm-up (first call loads fonts and
 * libvips operations). Skips with a reason when the sample photos are not on this machine.
 */
export async function benchLocalGenerator(runs = 10): Promise<LatencySummary | BenchSkipped> {
  const photo = await firstSamplePhoto();
  if (photo === undefined) return { skipped: `no .jpg photos under ${PET_PHOTOS_DIR} (set ADSEED_PETS_DIR)` };
  const [seed, brand] = await Promise.all([readFile(photo), renderDemoBrandPack()]);
  const generator = new LocalAdGenerator();
  const request = {
    seed,
    brand,
    size: 1080,
    headline: 'Real food for the friend who waits by the door',
    callToAction: 'Try Pawsome today',
  };
  await generator.generate(request);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await generator.generate(request);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const round = (ms: number): number => Math.round(ms * 10) / 10;
  return {
    runs,
    p50Ms: round(percentile(times, 50)),
    p99Ms: round(percentile(times, 99)),
    meanMs: round(times.reduce((sum, t) => sum + t, 0) / times.length),
  };
}

if (require.main === module) {
  const runs = Number(process.argv[2] ?? 10);
  void benchLocalGenerator(Number.isInteger(runs) && runs > 0 ? runs : 10).then((result) => {
    if ('skipped' in result) console.log(`benchLocalGenerator skipped: ${result.skipped}`);
    else console.log(JSON.stringify({ bench: 'local-ad-generator', size: 1080, ...result }));
  });
}
