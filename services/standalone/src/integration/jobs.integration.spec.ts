import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client as MinioClient } from 'minio';
import { testModels } from '../e2e/harness';
import { brandPack, MIN_SCORE, scene, SEEDS, SEGMENTS } from '../e2e/job-fixtures';
import { INFRA, startCluster, type Cluster } from './cluster';
import { clusterEnv } from './cluster-env';

type Json = Record<string, any>;

const BASE_PORT = 18700;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * A creative job on the multi-process deployment (real Kafka and MinIO): two generation
 * processes share the job's ads (one consumer group, ads keyed job id + index over 12
 * partitions); one is killed with SIGKILL mid-job, and the job still completes with every ad
 * exactly once. Runs alone on the shared servers (scripts/test.sh runs integration files one at a time).
 */
describe('creative jobs across processes, on real Kafka and MinIO', () => {
  const tenant = `jobs-${randomUUID().slice(0, 8)}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'adseed-jobs-it-'));
  const minio = new MinioClient({ ...INFRA.minio, useSSL: false });
  let cluster: Cluster;

  const api = (path: string, init: RequestInit & { json?: unknown } = {}) =>
    fetch(`${cluster.gatewayUrl}${path}`, {
      ...init,
      signal: AbortSignal.timeout(60_000),
      headers: {
        'x-tenant-id': tenant,
        ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(init.headers as Record<string, string>),
      },
      ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}),
    });
  const upload = async (bytes: Buffer, name: string, fields: Record<string, string>) => {
    const form = new FormData();
    form.set('file', new Blob([new Uint8Array(bytes)]), name);
    for (const [k, v] of Object.entries(fields)) form.set(k, v);
    const res = await api('/v1/assets', { method: 'POST', body: form });
    assert.equal(res.status, 201, await res.clone().text());
    return ((await res.json()) as Json).asset.path as string;
  };

  before(async () => {
    const models = await testModels();
    cluster = await startCluster({ dataDir, basePort: BASE_PORT, env: clusterEnv(models) });
    // A second generation replica, in the same consumer groups as the first.
    await cluster.startReplica('generation', 'b');
  });
  after(async () => {
    await cluster?.stop();
    if (process.env.ADSEED_IT_KEEP !== '1') rmSync(dataDir, { recursive: true, force: true });
  });

  it('two generation processes share a job; kill -9 one mid-job and every ad is still made exactly once', async () => {
    for (const [i, [name, caption, rgb, size]] of SEEDS.entries()) await upload(await scene(rgb, size, i), name, { caption });
    const brandPath = await upload(await brandPack(), 'pack.png', { kind: 'brand' });
    await until(
      'the seeds to be indexed',
      async () => {
        const res = (await (await api('/v1/search', { method: 'POST', json: { text: 'a dog', k: 50, encoders: ['caption'], minScore: -1 } })).json()) as Json;
        return res.hits?.length === SEEDS.length ? true : undefined;
      },
      120_000,
    );

    const created = await api('/v1/jobs', {
      method: 'POST',
      json: { brandPath, segments: SEGMENTS, formats: ['1:1', '4:5', '9:16', '1.91:1'], variants: 8, minScore: MIN_SCORE },
    });
    assert.equal(created.status, 202, await created.clone().text());
    const id = ((await created.json()) as Json).job.id as string;
    const total = 2 * 4 * 8;
    const job = async () => ((await (await api(`/v1/jobs/${id}`)).json()) as Json).job;

    // Both processes have made ads (their pids are in the provenance records), and the job is not done: kill one.
    const provenanceOf = async (ad: Json) =>
      JSON.parse(Buffer.from(await (await api(`/v1/assets/content?path=${encodeURIComponent(ad.provenancePath)}`)).arrayBuffer()).toString('utf8'));
    const early = await until(
      'ads from both processes',
      async () => {
        const j = await job();
        const pids = new Set((await Promise.all(j.ads.map(provenanceOf))).map((p) => p.renderedBy.pid));
        return pids.size >= 2 ? j : undefined;
      },
      300_000,
    );
    await cluster.kill('generation', 'SIGKILL');
    assert.ok(early.progress.done < total, `the job was still running when one process was killed (${early.progress.done} of ${total} made)`);

    const done = await until(
      'the job to finish',
      async () => {
        const j = await job();
        return ['done', 'failed', 'cancelled'].includes(j.status) ? j : undefined;
      },
      600_000,
    );
    assert.equal(done.status, 'done', JSON.stringify(done.failures));
    assert.deepEqual(done.progress, { done: total, failed: 0, total });
    assert.equal(new Set(done.ads.map((a: Json) => a.path)).size, total);

    // Exactly once: one PNG and one provenance record per ad, nothing else, each record naming its PNG's bytes.
    const keys: string[] = [];
    for await (const item of minio.listObjectsV2('ads', `${tenant}/jobs/${id}/`, true)) keys.push((item as { name: string }).name);
    assert.equal(keys.length, 2 * total);
    const renderers = new Set<number>();
    const hashes = new Set<string>();
    for (const ad of done.ads) {
      const png = Buffer.from(await (await api(ad.url)).arrayBuffer());
      const provenance = await provenanceOf(ad);
      const hash = createHash('sha256').update(png).digest('hex');
      assert.equal(provenance.ad.sha256, hash, ad.path);
      hashes.add(hash);
      renderers.add(provenance.renderedBy.pid);
    }
    assert.equal(hashes.size, total, 'no picture twice');
    assert.ok(renderers.size >= 2, `ads were rendered by ${renderers.size} process(es): both replicas did work`);
  });
});
