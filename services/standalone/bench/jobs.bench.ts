/**
 * Benchmark of a 100-ad creative job in the one-process mode: ads per second from POST to done,
 * and the per-ad overhead beyond the generator (events, store writes, provenance, folding),
 * measured against the same 100 renders done by the generator alone at the same concurrency.
 * Run: node services/standalone/bench/dist/jobs.bench.js
 * Against a running deployment (e.g. the multi-process cluster on Kafka with two generation
 * processes): node services/standalone/bench/dist/jobs.bench.js --url http://127.0.0.1:18704
 * (ads per second only: the generator-alone comparison needs the embedded store).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobTopics } from '@adseed/contracts';
import { LocalAdGenerator } from '@adseed/generation';
import { startTestApp } from '@adseed/standalone/dist/e2e/harness';
import { brandPack, library, scene, SEEDS } from '@adseed/standalone/dist/e2e/job-fixtures';

type Json = Record<string, any>;

const JOB = (brandPath: string, seedPaths: string[]) => ({
  brandPath,
  seedPaths: seedPaths.slice(0, 5),
  formats: ['1:1', '4:5', '9:16', '1.91:1'],
  variants: 5,
});

/** The same 100-ad job through the REST API of a deployment someone else started. */
async function remote(url: string): Promise<void> {
  const tenant = `bench-${Date.now().toString(36)}`;
  const call = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${url}${path}`, { ...init, headers: { 'x-tenant-id': tenant, ...(init.headers as Record<string, string>) } });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as Json;
  };
  const upload = async (bytes: Buffer, name: string, fields: Record<string, string>) => {
    const form = new FormData();
    form.set('file', new Blob([new Uint8Array(bytes)]), name);
    for (const [k, v] of Object.entries(fields)) form.set(k, v);
    return (await call('/v1/assets', { method: 'POST', body: form })).asset.path as string;
  };
  const seedPaths: string[] = [];
  for (const [i, [name, caption, rgb, size]] of SEEDS.entries()) seedPaths.push(await upload(await scene(rgb, size, i), name, { caption }));
  const brandPath = await upload(await brandPack(), 'pack.png', { kind: 'brand' });
  const started = performance.now();
  const created = await call('/v1/jobs', { method: 'POST', body: JSON.stringify(JOB(brandPath, seedPaths)), headers: { 'content-type': 'application/json' } });
  let job: Json;
  for (;;) {
    job = (await call(`/v1/jobs/${created.job.id}`)).job;
    if (job.status !== 'queued' && job.status !== 'running') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const wall = performance.now() - started;
  process.stdout.write(
    `${url}: ${job.progress.total} ads (${job.progress.done} done, ${job.progress.failed} failed) in ${(wall / 1000).toFixed(2)} s = ${((job.progress.total * 1000) / wall).toFixed(2)} ads/s (polled every 100 ms)\n`,
  );
}

async function main(): Promise<void> {
  const at = process.argv.indexOf('--url');
  if (at > 0) return remote(process.argv[at + 1].replace(/\/$/, ''));
  const dataDir = await mkdtemp(join(tmpdir(), 'adseed-jobs-bench-'));
  const app = await startTestApp({ dataDir });
  try {
    const { brandPath, seedPaths } = await library(app);
    const body = JOB(brandPath, seedPaths);
    const started = performance.now();
    const created = (await (await app.api('/v1/jobs', { method: 'POST', json: body })).json()) as Json;
    const accepted = performance.now() - started;
    let job: Json;
    for (;;) {
      await app.whenIdle();
      job = ((await (await app.api(`/v1/jobs/${created.job.id}`)).json()) as Json).job;
      if (job.status !== 'queued' && job.status !== 'running') break;
    }
    const wall = performance.now() - started;
    const n = job.progress.total;

    // The same renders by the generator alone, as many at once as the job ran (one per partition).
    const requests = app.broker.read(JobTopics.adRequested.name).map((m) => JSON.parse(m.value) as Json);
    const read = async (path: string) => (await app.store.get(path.split('/')[0], path.split('/').slice(1).join('/'))).body;
    const inputs = await Promise.all(requests.map(async (r) => ({ r, seed: await read(r.seedPath), brand: await read(r.brandPath) })));
    const generator = new LocalAdGenerator();
    const concurrency = JobTopics.adRequested.partitions;
    const alone = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < inputs.length) {
          const { r, seed, brand } = inputs[next++];
          await generator.generate({ seed, brand, width: r.width, height: r.height, look: r.look });
        }
      }),
    );
    const generatorOnly = performance.now() - alone;
    const line = (k: string, v: string) => process.stdout.write(`${k.padEnd(44)} ${v}\n`);
    line('job', `${n} ads (${job.progress.done} done, ${job.progress.failed} failed), ${concurrency} partitions`);
    line('POST /v1/jobs answered (202) after', `${accepted.toFixed(0)} ms`);
    line('job wall time, POST to done', `${(wall / 1000).toFixed(2)} s = ${((n * 1000) / wall).toFixed(2)} ads/s`);
    line('generator alone (same renders and concurrency)', `${(generatorOnly / 1000).toFixed(2)} s = ${((n * 1000) / generatorOnly).toFixed(2)} ads/s`);
    line('overhead per ad beyond the generator', `${((wall - generatorOnly) / n).toFixed(1)} ms (wall-clock, at this concurrency)`);
  } finally {
    await app.whenIdle();
    await app.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

void main();
