/**
 * Latency of the image guardrail per image (decode + squash with sharp + nsfwjs MobileNetV2),
 * and what it flags, over the sample datasets beside the repository (none of them unsafe, so every
 * flag there is a false positive).
 * Run: node libs/guardrails/bench/dist/image-guardrail.bench.js [max photos] [backend wasm|cpu]
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { NsfwjsImageGuardrail } from '@adseed/guardrails/dist/nsfwjs.image-classifier';
import type { NsfwClass } from '@adseed/guardrails';

// Compiled to libs/guardrails/bench/dist/: ../shared sits beside the repository; every photo under its datasets.
export const DEMO_PHOTOS_DIR = process.env.ADSEED_SAMPLE_PHOTOS_DIR ?? resolve(__dirname, '../../../../../shared/datasets');
export const DEFAULT_THRESHOLDS: Partial<Record<NsfwClass, number>> = { porn: 0.7, hentai: 0.7, sexy: 0.9 };

export interface ImageGuardrailBench {
  backend: 'wasm' | 'cpu';
  images: number;
  loadMs: number;
  p50Ms: number;
  p99Ms: number;
  flagged: { file: string; reasons: string[]; scores: Record<string, number> }[];
  /** Highest score per class over the library. */
  maxScores: Record<string, number>;
}

const percentile = (sorted: number[], p: number): number => sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1];

/** Every image under `dir`, depth first in sorted order. */
async function photos(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.isDirectory()) out.push(...(await photos(join(dir, entry.name))));
    else if (/\.(jpe?g|png|webp)$/i.test(entry.name)) out.push(join(dir, entry.name));
  }
  return out;
}

export async function benchImageGuardrail(maxImages = Infinity, backend: 'wasm' | 'cpu' = 'wasm', dir = DEMO_PHOTOS_DIR): Promise<ImageGuardrailBench | { skipped: string }> {
  let files: string[];
  try {
    files = (await photos(dir)).slice(0, maxImages);
  } catch {
    return { skipped: `no demo library at ${dir}` };
  }
  const guardrail = new NsfwjsImageGuardrail({ model: 'MobileNetV2', thresholds: DEFAULT_THRESHOLDS, backend });
  const started = performance.now();
  await guardrail.warmUp();
  const loadMs = performance.now() - started;
  const bytes = await Promise.all(files.map((f) => readFile(f)));
  await guardrail.check(bytes[0]); // first inference compiles kernels
  const times: number[] = [];
  const flagged: ImageGuardrailBench['flagged'] = [];
  const maxScores: Record<string, number> = {};
  for (let i = 0; i < files.length; i++) {
    const start = performance.now();
    const verdict = await guardrail.check(bytes[i]);
    times.push(performance.now() - start);
    for (const [c, s] of Object.entries(verdict.scores)) maxScores[c] = Math.max(maxScores[c] ?? 0, s);
    if (verdict.flagged) flagged.push({ file: files[i].slice(dir.length + 1), reasons: verdict.reasons, scores: verdict.scores });
  }
  times.sort((a, b) => a - b);
  return { backend, images: files.length, loadMs, p50Ms: percentile(times, 50), p99Ms: percentile(times, 99), flagged, maxScores };
}

if (require.main === module) {
  void benchImageGuardrail(Number(process.argv[2] ?? Infinity), (process.argv[3] as 'wasm' | 'cpu') ?? 'wasm').then((r) => process.stdout.write(`${JSON.stringify(r, null, 1)}\n`));
}
