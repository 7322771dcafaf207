/**
 * Benchmark of the 100-ad creative job of `jobs.bench.ts` (5 seeds × 4 formats × 5 variants, the
 * local generator) on the multi-process deployment over real Kafka and MinIO: ads per second from
 * POST to done with one generation process, then with two in the same consumer group.
 *
 * Needs Kafka and MinIO (`scripts/infra/kafka.sh start`, `scripts/infra/minio.sh start`; the
 * ports come from the same variables, e.g. ADSEED_KAFKA_PORT, ADSEED_MINIO_PORT, and the service
 * ports shift by ADSEED_IT_PORT_OFFSET), then:
 *   node services/standalone/bench/dist/jobs-kafka.bench.js [--runs 3]
 * Each run uses a fresh tenant; a warm-up job precedes each configuration (consumer-group joins,
 * JIT, the index's first writes) and is not counted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '@adseed/standalone/dist/adseed.app';
import { testModels } from '@adseed/standalone/dist/e2e/harness';
import { brandPack, scene, SEEDS } from '@adseed/standalone/dist/e2e/job-fixtures';
import { PORT_OFFSET, startCluster } from '@adseed/standalone/dist/integration/cluster';
import { clusterEnv } from '@adseed/standalone/dist/integration/cluster-env';

type Json = Record<string, any>;

const BASE_PORT = 18_960;
const SECOND_GENERATION_PORT = BASE_PORT + PORT_OFFSET + 10;

async function runJob(url: string): Promise<{ ads: number; failed: number; seconds: number; byProcess: Record<string, number> }> {
  const tenant = `kbench-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  const call = async (path: string, init: RequestInit = {}): Promise<Json> => {
    const res = await fetch(`${url}${path}`, {
      ...init,
      signal: AbortSignal.timeout(120_000),
      headers: { 'x-tenant-id': tenant, ...(init.headers as Record<string, string>) },
    });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Json;
  };
  const upload = async (bytes: Buffer, name: string, fields: Record<string, string>): Promise<string> => {
    const form = new FormData();
    form.set('file', new Blob([new Uint8Array(bytes)]), name);
    for (const [k, v] of Object.entries(fields)) form.set(k, v);
    return (await call('/v1/assets', { method: 'POST', body: form })).asset.path as string;
  };
  const seedPaths: string[] = [];
  for (const [i, [name, caption, rgb, size]] of SEEDS.slice(0, 5).entries()) seedPaths.push(await upload(await scene(rgb, size, i), name, { caption }));
  const brandPath = await upload(await brandPack(), 'pack.png', { kind: 'brand' });
  const body = { brandPath, seedPaths, formats: ['1:1', '4:5', '9:16', '1.91:1'], variants: 5 };
  const started = performance.now();
  const created = await call('/v1/jobs', { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  let job: Json;
  for (;;) {
    job = (await call(`/v1/jobs/${created.job.id}`)).job;
    if (job.status !== 'queued' && job.status !== 'running') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const seconds = (performance.now() - started) / 1000;
  // Which process rendered each ad (the provenance's renderedBy), read after the clock stopped.
  const byProcess: Record<string, number> = {};
  for (const ad of job.ads as Json[]) {
    const provenance = await call(`/v1/assets/content?path=${encodeURIComponent(ad.provenancePath as string)}`);
    const who = `${provenance.renderedBy?.host ?? '?'}:${provenance.renderedBy?.pid ?? '?'}`;
    byProcess[who] = (byProcess[who] ?? 0) + 1;
  }
  return { ads: job.progress.done, failed: job.progress.failed, seconds, byProcess };
}

async function measure(url: string, label: string, runs: number): Promise<number[]> {
  await runJob(url);
  const rates: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = await runJob(url);
    const rate = (r.ads + r.failed) / r.seconds;
    rates.push(rate);
    const shares = Object.values(r.byProcess)
      .sort((a, b) => b - a)
      .join(' + ');
    process.stdout.write(
      `${label} run ${i + 1}: ${r.ads} ads (${r.failed} failed) in ${r.seconds.toFixed(2)} s = ${rate.toFixed(2)} ads/s; rendered by process: ${shares}\n`,
    );
  }
  return rates;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

async function main(): Promise<void> {
  const at = process.argv.indexOf('--runs');
  const runs = at > 0 ? Number(process.argv[at + 1]) : 3;
  const dataDir = await mkdtemp(join(tmpdir(), 'adseed-jobs-kafka-bench-'));
  const env = clusterEnv(await testModels());
  const cluster = await startCluster({ dataDir, basePort: BASE_PORT, env });
  let second: ChildProcess | undefined;
  try {
    const one = await measure(cluster.gatewayUrl, 'one generation process', runs);
    const dir = join(dataDir, 'generation-b');
    mkdirSync(dir, { recursive: true });
    const log = createWriteStream(join(dataDir, 'generation-b.log'));
    second = spawn(process.execPath, [join(REPO_ROOT, 'services', 'generation', 'dist', 'main.js')], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env, PORT: String(SECOND_GENERATION_PORT), ADSEED_DATA_DIR: dir, LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    second.stdout!.pipe(log);
    second.stderr!.pipe(log);
    const deadline = Date.now() + 120_000;
    while (
      !(await fetch(`http://127.0.0.1:${SECOND_GENERATION_PORT}/readyz`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      if (second.exitCode !== null || Date.now() > deadline)
        throw new Error(`the second generation process did not get ready; see ${join(dataDir, 'generation-b.log')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const two = await measure(cluster.gatewayUrl, 'two generation processes', runs);
    process.stdout.write(
      `100-ad job over Kafka + MinIO: one generation process median ${median(one).toFixed(2)} ads/s, two ${median(two).toFixed(2)} ads/s, ratio ${(median(two) / median(one)).toFixed(2)} ` +
        `(${runs} runs each; every service shares this machine's cores)\n`,
    );
  } finally {
    second?.kill('SIGTERM');
    await cluster.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
