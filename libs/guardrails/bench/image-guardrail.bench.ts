/**
 * Latency of the image guardrail per image (decode + squash with sharp + nsfwjs MobileNetV2),
 * and what it flags, over the sample datasets beside the repository (none of them unsafe, so every
 * flag there is a false positive).
 * Run: node libs/guardrails/bench/dist/image-guardrail.bench.js [max photos] [runtime tfjs|tfjs-cpu|onnx|compare] [thread|worker]
 * `thread` (default) classifies on the bench's own thread, `worker` through WorkerImageGuardrail
 * (one worker thread, as the gateway does); both report the event-loop delay meanwhile.
 * `compare` runs tfjs (WebAssembly) and onnxruntime (1 intra-op thread) on the same photos, one
 * after the other per photo, and reports both latencies and how far their probabilities differ;
 * onnx needs the converted model: bash libs/guardrails/onnx/convert.sh (ADSEED_NSFW_ONNX_PATH).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { existsSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { NSFW_CLASS_NAMES, type NsfwClass } from '@adseed/guardrails';
import { NsfwjsImageGuardrail, nsfwVerdict } from '@adseed/guardrails/dist/nsfwjs.image-classifier';
import { DEFAULT_NSFW_ONNX_PATH, type NsfwRuntime } from '@adseed/guardrails/dist/nsfw-scorer';
import { WorkerImageGuardrail } from '@adseed/guardrails/dist/worker.image-guardrail';

// Compiled to libs/guardrails/bench/dist/: ../shared sits beside the repository; every photo under its datasets.
export const DEMO_PHOTOS_DIR = process.env.ADSEED_SAMPLE_PHOTOS_DIR ?? resolve(__dirname, '../../../../../shared/datasets');
export const DEFAULT_THRESHOLDS: Partial<Record<NsfwClass, number>> = { porn: 0.7, hentai: 0.7, sexy: 0.9 };
/** The converted model, where libs/guardrails/onnx/convert.sh writes it in this checkout. */
export const ONNX_PATH = process.env.ADSEED_NSFW_ONNX_PATH ?? resolve(__dirname, '..', '..', '..', '..', DEFAULT_NSFW_ONNX_PATH);

export interface ImageGuardrailBench {
  runtime: NsfwRuntime;
  /** Where it classified: on the bench's event-loop thread, or in a worker thread. */
  where: 'thread' | 'worker';
  /** The bench thread's event-loop delay over the timed classifications (monitorEventLoopDelay, 1 ms resolution). */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** Threads the runtime computes with (tfjs-wasm: its own pool; onnx: intra-op threads). */
  threads: number;
  images: number;
  loadMs: number;
  p50Ms: number;
  p99Ms: number;
  flagged: { file: string; reasons: string[]; scores: Record<string, number> }[];
  /** Highest score per class over the library. */
  maxScores: Record<string, number>;
}

export interface RuntimeComparison {
  images: number;
  runs: ImageGuardrailBench[];
  /** Largest |p_tfjs − p_onnx| over every class of every photo, and the mean. */
  maxAbsDiff: number;
  meanAbsDiff: number;
  /** Photos whose top class or verdict differs between the two. */
  topClassDisagreements: number;
  verdictDisagreements: number;
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

interface Side {
  guardrail: NsfwjsImageGuardrail | WorkerImageGuardrail;
  runtime: NsfwRuntime;
  where: 'thread' | 'worker';
  loadMs: number;
  times: number[];
  probabilities: number[][];
  flagged: ImageGuardrailBench['flagged'];
  maxScores: Record<string, number>;
  loopDelay?: { p99Ms: number; maxMs: number };
}

async function side(runtime: NsfwRuntime, where: 'thread' | 'worker'): Promise<Side> {
  const options = { model: 'MobileNetV2' as const, thresholds: DEFAULT_THRESHOLDS, runtime, onnxPath: ONNX_PATH, onnxThreads: 1 };
  const guardrail = where === 'worker' ? new WorkerImageGuardrail(options) : new NsfwjsImageGuardrail(options);
  const started = performance.now();
  await guardrail.warmUp();
  return { guardrail, runtime, where, loadMs: performance.now() - started, times: [], probabilities: [], flagged: [], maxScores: {} };
}

/**
 * tfjs-wasm's own thread count, asked on this thread (in Node it loads its single-threaded SIMD
 * build: 1); in a worker the backend lives there, with the same build.
 */
async function threadsOf(runtime: NsfwRuntime, where: 'thread' | 'worker'): Promise<number> {
  if (runtime !== 'tfjs' || where === 'worker') return 1;
  const wasm = (await import('@tensorflow/tfjs-backend-wasm')) as { getThreadsCount(): number };
  return wasm.getThreadsCount();
}

async function run(runtimes: NsfwRuntime[], files: string[], dir: string, where: 'thread' | 'worker' = 'thread'): Promise<Side[]> {
  const sides: Side[] = [];
  for (const r of runtimes) sides.push(await side(r, where));
  const bytes = await Promise.all(files.map((f) => readFile(f)));
  for (const s of sides) await s.guardrail.check(bytes[0]); // first inference compiles kernels
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  for (let i = 0; i < files.length; i++) {
    // Alternate which runtime goes first, so neither always runs right after the other.
    for (const s of i % 2 === 0 ? sides : [...sides].reverse()) {
      const start = performance.now();
      // What check() does, keeping the unrounded probabilities for the comparison.
      s.probabilities[i] = await s.guardrail.probabilities(bytes[i]);
      const verdict = nsfwVerdict(s.probabilities[i], DEFAULT_THRESHOLDS, s.guardrail.model);
      s.times.push(performance.now() - start);
      for (const [c, v] of Object.entries(verdict.scores)) s.maxScores[c] = Math.max(s.maxScores[c] ?? 0, v);
      if (verdict.flagged) s.flagged.push({ file: files[i].slice(dir.length + 1), reasons: verdict.reasons, scores: verdict.scores });
    }
  }
  delay.disable();
  for (const s of sides) {
    s.loopDelay = { p99Ms: delay.percentile(99) / 1e6, maxMs: delay.max / 1e6 };
    if (s.guardrail instanceof WorkerImageGuardrail) await s.guardrail.close();
  }
  return sides;
}

const summary = async (s: Side, images: number): Promise<ImageGuardrailBench> => {
  const sorted = [...s.times].sort((a, b) => a - b);
  return {
    runtime: s.runtime,
    where: s.where,
    loopDelayP99Ms: s.loopDelay?.p99Ms ?? NaN,
    loopDelayMaxMs: s.loopDelay?.maxMs ?? NaN,
    threads: await threadsOf(s.runtime, s.where),
    images,
    loadMs: s.loadMs,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    flagged: s.flagged,
    maxScores: s.maxScores,
  };
};

export async function benchImageGuardrail(
  maxImages = Infinity,
  runtime: NsfwRuntime = 'tfjs',
  where: 'thread' | 'worker' = 'thread',
  dir = DEMO_PHOTOS_DIR,
): Promise<ImageGuardrailBench | { skipped: string }> {
  if (runtime === 'onnx' && !existsSync(ONNX_PATH)) return { skipped: `no ${ONNX_PATH}: bash libs/guardrails/onnx/convert.sh` };
  let files: string[];
  try {
    files = (await photos(dir)).slice(0, maxImages);
  } catch {
    return { skipped: `no demo library at ${dir}` };
  }
  const [s] = await run([runtime], files, dir, where);
  return summary(s, files.length);
}

/** tfjs-wasm against onnxruntime on the same photos. */
export async function compareRuntimes(maxImages = Infinity, dir = DEMO_PHOTOS_DIR): Promise<RuntimeComparison | { skipped: string }> {
  if (!existsSync(ONNX_PATH)) return { skipped: `no ${ONNX_PATH}: bash libs/guardrails/onnx/convert.sh` };
  let files: string[];
  try {
    files = (await photos(dir)).slice(0, maxImages);
  } catch {
    return { skipped: `no demo library at ${dir}` };
  }
  const sides = await run(['tfjs', 'onnx'], files, dir);
  let maxAbsDiff = 0;
  let sum = 0;
  let topClassDisagreements = 0;
  let verdictDisagreements = 0;
  const top = (p: number[]): number => p.indexOf(Math.max(...p));
  for (let i = 0; i < files.length; i++) {
    const [a, b] = [sides[0].probabilities[i], sides[1].probabilities[i]];
    NSFW_CLASS_NAMES.forEach((_, c) => {
      const d = Math.abs(a[c] - b[c]);
      maxAbsDiff = Math.max(maxAbsDiff, d);
      sum += d;
    });
    if (top(a) !== top(b)) topClassDisagreements++;
  }
  const flaggedFiles = sides.map((s) => new Set(s.flagged.map((f) => f.file)));
  for (const f of new Set([...flaggedFiles[0], ...flaggedFiles[1]])) if (!(flaggedFiles[0].has(f) && flaggedFiles[1].has(f))) verdictDisagreements++;
  return {
    images: files.length,
    runs: await Promise.all(sides.map((s) => summary(s, files.length))),
    maxAbsDiff,
    meanAbsDiff: sum / (files.length * NSFW_CLASS_NAMES.length),
    topClassDisagreements,
    verdictDisagreements,
  };
}

if (require.main === module) {
  const max = Number(process.argv[2] ?? Infinity);
  const runtime = process.argv[3] ?? 'tfjs';
  const where = process.argv[4] === 'worker' ? 'worker' : 'thread';
  void (runtime === 'compare' ? compareRuntimes(max) : benchImageGuardrail(max, runtime as NsfwRuntime, where)).then((r) =>
    process.stdout.write(`${JSON.stringify(r, null, 1)}\n`),
  );
}
