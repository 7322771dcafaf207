/**
 * Latency of the local generator on a real photo at 1080×1080 with headline and call to action.
 * Run: node services/generation/bench/dist/local-ad.generator.bench.js [runs]
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';

import { LocalAdGenerator, renderDemoBrandPack } from '@adseed/generation';

/** Sample photo datasets (`../shared/datasets` beside the repository); override with ADSEED_SAMPLE_PHOTOS_DIR. */
// Compiled to services/generation/dist/generators/.
const DATASETS_DIR = resolve(__dirname, '../../../../../shared/datasets');
export const SAMPLE_PHOTOS_DIR = process.env.ADSEED_SAMPLE_PHOTOS_DIR ?? DATASETS_DIR;

export interface LatencySummary {
  runs: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
}

export interface BenchSkipped {
  skipped: string;
}

/** First `.jpg` under `dir`, depth first in sorted order (so the choice is stable), or undefined if absent. */
export async function firstSamplePhoto(dir = SAMPLE_PHOTOS_DIR): Promise<string | undefined> {
  let entries;
  try {
    entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  } catch {
    return undefined;
  }
  const photo = entries.find((e) => e.isFile() && e.name.toLowerCase().endsWith('.jpg'));
  if (photo) return join(dir, photo.name);
  for (const folder of entries.filter((e) => e.isDirectory())) {
    const found = await firstSamplePhoto(join(dir, folder.name));
    if (found) return found;
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
  if (photo === undefined) return { skipped: `no .jpg photos under ${SAMPLE_PHOTOS_DIR} (set ADSEED_SAMPLE_PHOTOS_DIR)` };
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
