import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { EmbeddedVectorIndex } from '@adseed/retrieval/dist/vector-index/embedded-vector.index';
import { randomVector, rng } from '@adseed/retrieval/dist/vector-index/vector-index.contract';
import { VectorRecord } from '@adseed/retrieval/dist/vector-index/vector-index.port';

/** Search latency and memory of one process at one point of the bench. */
export interface IndexPhase {
  p50Ms: number;
  p99Ms: number;
  /** Process RSS after a full GC, and the peak RSS of the process so far. */
  rssMb: number;
  peakRssMb: number;
  /** Rows scored exactly per search (full-precision reads), mean. */
  exactRowsPerSearch: number;
}

export interface EmbeddedIndexBenchRow {
  size: number;
  dimension: number;
  /** Bytes of the raw float32 vectors: size × dimension × 4. */
  rawMb: number;
  /** Time to upsert `size` records in batches of 1,000, log writes, fsyncs and compactions included. */
  buildMs: number;
  afterBuild: IndexPhase;
  /** A fresh process opening the directory the build left (snapshot + log). */
  openMs: number;
  afterOpen: IndexPhase;
  snapshotRecords: number;
  logFrames: number;
}

const BATCH = 1000;
const DIMENSION = 512;
const QUERIES = 200;
const MB = 2 ** 20;

/**
 * Top-3 clip searches with a tenant filter over random 512-d vectors. 90% of the records belong
 * to the queried tenant, so the filter still leaves nearly the whole index to scan. Random
 * Gaussian vectors are the hard case for the two-stage exact search (top scores barely stand
 * out), so real embeddings should be faster.
 *
 * Each size runs in two fresh processes so that memory is the index's alone: one builds the
 * index and searches it, the next opens the directory it left and searches again.
 */
export async function benchEmbeddedIndex(opts: { sizes?: number[] } = {}): Promise<EmbeddedIndexBenchRow[]> {
  const sizes = opts.sizes ?? [10_000, 100_000];
  const rows: EmbeddedIndexBenchRow[] = [];
  for (const size of sizes) {
    const dir = await mkdtemp(join(tmpdir(), 'adseed-vector-bench-'));
    try {
      const built = await runChild<{ buildMs: number; phase: IndexPhase }>('build', dir, size);
      const opened = await runChild<{ openMs: number; phase: IndexPhase; snapshotRecords: number; logFrames: number }>('open', dir, size);
      rows.push({
        size,
        dimension: DIMENSION,
        rawMb: (size * DIMENSION * 4) / MB,
        buildMs: built.buildMs,
        afterBuild: built.phase,
        openMs: opened.openMs,
        afterOpen: opened.phase,
        snapshotRecords: opened.snapshotRecords,
        logFrames: opened.logFrames,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return rows;
}

async function runChild<T>(step: 'build' | 'open', dir: string, size: number): Promise<T> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', __filename, step, dir, String(size)], {
    maxBuffer: 1 << 20,
    timeout: 30 * 60_000,
  });
  return JSON.parse(stdout.trim().split('\n').pop() as string) as T;
}

async function build(dir: string, size: number): Promise<{ buildMs: number; phase: IndexPhase }> {
  const index = await EmbeddedVectorIndex.open({ dir, dimensions: { clip: DIMENSION, caption: 384 } });
  const random = rng(size);
  let buildMs = 0;
  for (let from = 0; from < size; from += BATCH) {
    const batch: VectorRecord[] = [];
    for (let n = from; n < Math.min(size, from + BATCH); n++) {
      batch.push({
        id: `bench-${n}`,
        vectors: { clip: randomVector(DIMENSION, random) },
        payload: { tenant: n % 10 === 0 ? 'bench-b' : 'bench-a', kind: 'seed', path: `bench/${n}.jpg`, tags: [], indexedAt: '2025-01-01T00:00:00Z' },
      });
    }
    const started = performance.now();
    await index.upsert(batch);
    buildMs += performance.now() - started;
  }
  const phase = await searchPhase(index, size);
  await index.close();
  return { buildMs: Math.round(buildMs), phase };
}

async function reopen(dir: string, size: number): Promise<{ openMs: number; phase: IndexPhase; snapshotRecords: number; logFrames: number }> {
  const started = performance.now();
  const index = await EmbeddedVectorIndex.open({ dir });
  const openMs = Math.round(performance.now() - started);
  const phase = await searchPhase(index, size + 1);
  const { snapshotRecords, logFrames } = index.recovery;
  await index.close();
  return { openMs, phase, snapshotRecords, logFrames };
}

async function searchPhase(index: EmbeddedVectorIndex, seed: number): Promise<IndexPhase> {
  const random = rng(seed ^ 0x5eed);
  const query = () => ({ using: 'clip' as const, vector: randomVector(DIMENSION, random), filter: { tenant: 'bench-a' }, limit: 3 });
  for (let i = 0; i < 20; i++) await index.search(query()); // let V8 optimise the kernel and loops
  const times: number[] = [];
  let exact = 0;
  for (let i = 0; i < QUERIES; i++) {
    const q = query();
    const started = performance.now();
    await index.search(q);
    times.push(performance.now() - started);
    exact += index.lastSearchStats('clip').exact;
  }
  times.sort((a, b) => a - b);
  const at = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
  (globalThis as { gc?: () => void }).gc?.();
  return {
    p50Ms: round(at(0.5)),
    p99Ms: round(at(0.99)),
    rssMb: Math.round(process.memoryUsage().rss / MB),
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    exactRowsPerSearch: round(exact / QUERIES),
  };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

if (require.main === module) {
  const [step, dir, size] = process.argv.slice(2);
  const run =
    step === 'build'
      ? build(dir, Number(size))
      : step === 'open'
        ? reopen(dir, Number(size))
        : benchEmbeddedIndex().then((rows) => {
            console.table(rows.map((r) => ({ size: r.size, buildMs: r.buildMs, openMs: r.openMs, ...r.afterOpen })));
            return undefined;
          });
  run.then(
    (result) => {
      if (result !== undefined) console.log(JSON.stringify(result));
    },
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
