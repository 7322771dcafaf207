import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedVectorIndex } from './embedded-vector.index';
import { randomVector, rng } from './vector-index.contract';
import { VectorRecord } from './vector-index.port';

export interface EmbeddedIndexBenchRow {
  size: number;
  p50Ms: number;
  p99Ms: number;
  /** Time to upsert `size` records in batches of 1,000, log writes and fsyncs included. */
  buildMs: number;
  /** Process RSS after building and querying this size. */
  rssMb: number;
}

const BATCH = 1000;
const DIMENSION = 512;

/**
 * Top-3 clip searches with a tenant filter over random 512-d vectors. 90% of the records belong
 * to the queried tenant, so the filter still leaves nearly the whole index to scan. Random
 * Gaussian vectors are the hard case for the two-stage exact search (top scores barely stand
 * out), so real embeddings should be faster.
 */
export async function benchEmbeddedIndex(opts: { sizes?: number[]; queries?: number } = {}): Promise<EmbeddedIndexBenchRow[]> {
  const sizes = opts.sizes ?? [10_000, 100_000];
  const queries = opts.queries ?? 200;
  const rows: EmbeddedIndexBenchRow[] = [];
  for (const size of sizes) {
    const dir = await mkdtemp(join(tmpdir(), 'adseed-vector-bench-'));
    const index = await EmbeddedVectorIndex.open({ dir, dimensions: { clip: DIMENSION, caption: 384 } });
    try {
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
      const query = () => ({ using: 'clip' as const, vector: randomVector(DIMENSION, random), filter: { tenant: 'bench-a' }, limit: 3 });
      for (let i = 0; i < 20; i++) await index.search(query()); // let V8 optimise the kernel and loops
      const times: number[] = [];
      for (let i = 0; i < queries; i++) {
        const q = query();
        const started = performance.now();
        await index.search(q);
        times.push(performance.now() - started);
      }
      times.sort((a, b) => a - b);
      const at = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
      rows.push({
        size, p50Ms: round(at(0.5)), p99Ms: round(at(0.99)), buildMs: Math.round(buildMs),
        rssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
      });
    } finally {
      await index.close();
      await rm(dir, { recursive: true, force: true });
    }
  }
  return rows;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

if (require.main === module) {
  benchEmbeddedIndex().then((rows) => console.table(rows), (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
