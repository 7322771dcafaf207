import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  AssetTopics,
  assetIdFor,
  ConversationTopics,
  deadLetterTopicName,
  GenerationTopics,
  StorageTopics,
  type AssetEmbedded,
  type AssetIndexed,
  type AssetIngestRequested,
  type Conversation,
  type Job,
  type SingleAdCompleted,
  type StorageObjectEvent,
} from '@adseed/contracts';
import { H, kafkaGroupId } from '@adseed/messaging';
import { Client as MinioClient } from 'minio';
import { REPO_ROOT } from '../adseed.app';
import { parseManifest, type ManifestRow } from '../demo-library';
import { DEMO_LIBRARY, testModels } from '../e2e/harness';
import { brandPack } from '../e2e/job-fixtures';
import { SseClient } from '../e2e/sse-client';
import { INFRA, startCluster, type Cluster } from './cluster';
import { clusterEnv } from './cluster-env';
import { KafkaProbe, until, type ProbedMessage, type Watch } from './kafka-probe';

/**
 * Faults of the multi-process deployment on the real servers of `scripts/infra/all.sh up`: a
 * service killed with SIGKILL mid-ingest, the Kafka broker stopped and started under load, and
 * poison messages on every topic a service consumes. Never beside another cluster on the same
 * servers (scripts/test.sh runs integration files one at a time): all clusters share the services'
 * consumer groups, and this file stops the broker.
 */

/**
 * The servers of `scripts/infra/all.sh up`, or a second set started with the infra scripts' own
 * port variables (`ADSEED_KAFKA_PORT`, `ADSEED_MINIO_PORT`, with `ADSEED_INFRA_CACHE`), so this
 * file can run while another cluster uses the first set; `kafka.sh stop|start` then acts on
 * that second broker too, as it reads the same variables.
 */
const KAFKA = INFRA.kafka;
const MINIO = INFRA.minio;
const SEEDS = 'seeds';
/** A bucket without bucket notifications, for objects the tests reference by hand. */
const PROBE_BUCKET = 'adseed-it-probes';
const INDEXED = AssetTopics.indexed.name;
/** How long the broker stays down: the fault itself, long enough that every client notices (fetches, heartbeats and sends all fail). */
const BROKER_DOWN_MS = 10_000;
/** Concurrent clients searching through the gateway while retrieval is killed. */
const SEARCH_CLIENTS = 4;
/**
 * After retrieval reports ready, searches sent later than this must all succeed: the time a
 * transport may take to notice the process is back (a consumer group's rebalance, a gRPC
 * channel's reconnect backoff — which must be capped below this).
 */
const SEARCH_SETTLE_MS = 10_000;

interface Upload {
  row: ManifestRow;
  key: string;
}

describe('faults of the multi-process deployment, on real Kafka and MinIO', () => {
  const run = randomUUID().slice(0, 8);
  const dataDir = mkdtempSync(join(tmpdir(), 'adseed-faults-'));
  const minio = new MinioClient({ ...MINIO, useSSL: false });
  const rows = parseManifest(readFileSync(join(DEMO_LIBRARY, 'manifest.csv'), 'utf8'));
  const photos = new Map(rows.map((r) => [r.file, readFileSync(join(DEMO_LIBRARY, r.file))]));
  let cluster: Cluster;
  let probe: KafkaProbe;

  const api = (tenant: string, path: string, init: RequestInit & { json?: unknown } = {}) =>
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

  /** What the retrieval service's index holds for a tenant, from its own gauge. */
  const indexedVectors = async (tenant: string): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${cluster.portOf('retrieval')}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
    const line = text.split('\n').find((l) => l.startsWith('adseed_index_vectors{') && l.includes(`tenant="${tenant}"`));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  };

  /** Drops images into the seeds bucket as a data team would: MinIO notifies Kafka of each. */
  const uploadAll = async (uploads: Upload[], onUploaded: () => void = () => undefined, concurrency = 6): Promise<void> => {
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < uploads.length; i = next++) {
        const { row, key } = uploads[i];
        await minio.putObject(SEEDS, key, photos.get(row.file)!, undefined, {
          'Content-Type': 'image/jpeg',
          ...(row.caption ? { 'X-Amz-Meta-Caption': encodeURIComponent(row.caption) } : {}),
          'X-Amz-Meta-Tags': encodeURIComponent(row.tags.join(',')),
        });
        onUploaded();
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  };

  /** `asset.indexed` of one tenant, as asset id → the `changed` flag of each event, in order. */
  const watchIndexed = async (tenant: string): Promise<{ watch: Watch; changes: Map<string, boolean[]> }> => {
    const changes = new Map<string, boolean[]>();
    const watch = await probe.watch([INDEXED], { fromBeginning: false }, (m) => {
      const value = parseJson(m.value) as AssetIndexed | undefined;
      if (value?.tenant === tenant) changes.set(value.assetId, [...(changes.get(value.assetId) ?? []), value.changed]);
    });
    return { watch, changes };
  };

  /**
   * Waits until the ingest pipeline has committed everything it was given and the watch has read
   * every `asset.indexed` it published: after this, no late duplicate can still arrive.
   */
  const pipelineSettled = async (watch: Watch, timeoutMs: number): Promise<void> => {
    const stages: [string, string][] = [
      [kafkaGroupId('embedding-storage-bridge', StorageTopics.objectEvents.name), StorageTopics.objectEvents.name],
      [kafkaGroupId('embedding', AssetTopics.ingestRequested.name), AssetTopics.ingestRequested.name],
      [kafkaGroupId('retrieval', AssetTopics.embedded.name), AssetTopics.embedded.name],
    ];
    const deadline = Date.now() + timeoutMs;
    for (const [group, topic] of stages) {
      let lag = await probe.lag(group, topic);
      while (lag > 0) {
        if (Date.now() > deadline) throw new Error(`${group} still has ${lag} uncommitted messages on ${topic} after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 250));
        lag = await probe.lag(group, topic);
      }
    }
    const ends = await probe.endOffsets(INDEXED);
    await until(
      () => `the watch to read ${INDEXED} to its end`,
      () => watch.hasReadUpTo(INDEXED, ends),
      Math.max(1_000, deadline - Date.now()),
    );
  };

  const assertIndexedOnce = (expected: Set<string>, changes: Map<string, boolean[]>): { duplicates: number } => {
    assert.deepEqual(
      [...expected].filter((id) => !changes.has(id)),
      [],
      'every asset indexed',
    );
    assert.deepEqual(
      [...changes.keys()].filter((id) => !expected.has(id)),
      [],
      'nothing else indexed for the tenant',
    );
    const changedTwice = [...changes].filter(([, seen]) => seen.filter(Boolean).length !== 1 || seen[0] !== true);
    assert.deepEqual(changedTwice, [], '`changed: true` exactly once per asset, on its first `asset.indexed`');
    return { duplicates: [...changes.values()].reduce((n, seen) => n + seen.length - 1, 0) };
  };

  /**
   * A call that a well-behaved client repeats while the gateway answers 503 or 504 (a service
   * restarting, a consumer group rebalancing), waiting the `Retry-After` it is given; bounded.
   */
  const apiRetrying = async (tenant: string, path: string, init: RequestInit & { json?: unknown } = {}, timeoutMs = 120_000): Promise<Response> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const res = await api(tenant, path, init);
      if ((res.status !== 503 && res.status !== 504) || Date.now() > deadline) return res;
      const wait = Number(res.headers.get('retry-after') ?? '1');
      console.log(`[faults] ${init.method ?? 'GET'} ${path} answered ${res.status} (${(await res.text()).slice(0, 200)}); again in ${wait} s`);
      await new Promise((r) => setTimeout(r, Math.min(Math.max(wait, 0.2), 5) * 1000));
    }
  };

  /** A brand pack uploaded through the gateway; its storage path. */
  const uploadBrand = async (tenant: string): Promise<string> => {
    const form = new FormData();
    form.set('file', new Blob([new Uint8Array(await brandPack())]), 'pack.png');
    form.set('kind', 'brand');
    const res = await apiRetrying(tenant, '/v1/assets', { method: 'POST', body: form });
    const body = (await res.json()) as { asset: { path: string } };
    assert.equal(res.status, 201, JSON.stringify(body));
    return body.asset.path;
  };

  const createJob = async (tenant: string, body: Record<string, unknown>): Promise<Job> => {
    const res = await apiRetrying(tenant, '/v1/jobs', { method: 'POST', json: body });
    const created = (await res.json()) as { job: Job };
    assert.equal(res.status, 202, JSON.stringify(created));
    return created.job;
  };

  const readJob = async (tenant: string, id: string, gatewayUrl = cluster.gatewayUrl): Promise<Job> => {
    const res = await fetch(`${gatewayUrl}/v1/jobs/${id}`, { headers: { 'x-tenant-id': tenant }, signal: AbortSignal.timeout(60_000) });
    const body = (await res.json()) as { job: Job };
    assert.equal(res.status, 200, JSON.stringify(body));
    return body.job;
  };

  const finished = (job: Job) => job.status === 'done' || job.status === 'failed' || job.status === 'cancelled';

  /** Exactly once: the job done with every ad, one PNG and one provenance record each in MinIO, no picture twice. */
  const assertEveryAdOnce = async (tenant: string, job: Job): Promise<void> => {
    const total = job.progress.total;
    assert.equal(job.status, 'done', JSON.stringify(job.failures));
    assert.deepEqual(job.progress, { done: total, failed: 0, total });
    assert.equal(job.ads.length, total);
    assert.equal(new Set(job.ads.map((a) => a.path)).size, total, 'no ad path twice');
    const keys: string[] = [];
    for await (const item of minio.listObjectsV2('ads', `${tenant}/jobs/${job.id}/`, true)) keys.push((item as { name: string }).name);
    assert.equal(keys.length, 2 * total, `one PNG and one provenance record per ad, nothing else: ${keys.length} objects for ${total} ads`);
    const hashes = new Set<string>();
    for (const ad of job.ads) {
      const png = Buffer.from(await (await api(tenant, ad.url)).arrayBuffer());
      const provenance = (await (await api(tenant, `/v1/assets/content?path=${encodeURIComponent(ad.provenancePath)}`)).json()) as { ad: { sha256: string } };
      const hash = createHash('sha256').update(png).digest('hex');
      assert.equal(provenance.ad.sha256, hash, `the provenance of ${ad.path} names its bytes`);
      hashes.add(hash);
    }
    assert.equal(hashes.size, total, 'no picture twice');
  };

  before(async () => {
    const models = await testModels();
    probe = await KafkaProbe.connect([KAFKA]);
    cluster = await startCluster({
      dataDir,
      basePort: 18500,
      env: { ...clusterEnv(models), KAFKA_BROKERS: KAFKA, MINIO_PORT: String(MINIO.port) },
      // These tests load the services to watch them fail and recover; the per-tenant rate limit
      // (its own e2e test) would answer the searching clients 429 on a fast machine once gRPC
      // serves them at full speed, so it is lifted here.
      serviceEnv: { gateway: { ADSEED_RATE_LIMIT_PER_SECOND: '100000', ADSEED_RATE_LIMIT_BURST: '100000' } },
    });
  });

  after(async () => {
    await cluster?.stop();
    await probe?.close();
    if (process.env.ADSEED_IT_KEEP !== '1') rmSync(dataDir, { recursive: true, force: true });
  });

  it('kill -9 of the embedding service halfway through a 500-image ingest: after its restart every asset is indexed, none twice', async () => {
    const started = Date.now();
    const tenant = `fk-${run}`;
    // The demo photos twice, under two prefixes: 500 distinct keys, so 500 distinct assets.
    const uploads = [...rows.map((row) => ({ row, key: `${tenant}/a/${row.file}` })), ...rows.map((row) => ({ row, key: `${tenant}/b/${row.file}` }))].slice(
      0,
      500,
    );
    assert.equal(uploads.length, 500, `the demo library has ${rows.length} photos; 250 are needed`);
    const expected = new Set(uploads.map((u) => assetIdFor(`${SEEDS}/${u.key}`)));
    const { watch, changes } = await watchIndexed(tenant);
    try {
      let uploadedCount = 0;
      const uploaded = uploadAll(uploads, () => uploadedCount++);
      await until(
        () => `250 of 500 assets indexed before the kill (have ${changes.size})`,
        () => changes.size >= 250,
        300_000,
      );
      const indexedAtKill = changes.size;
      const uploadedAtKill = uploadedCount;
      await cluster.kill('embedding', 'SIGKILL');
      const restartStarted = Date.now();
      await cluster.start('embedding');
      const restartSeconds = (Date.now() - restartStarted) / 1000;
      await uploaded;
      await until(
        () => `all 500 assets indexed (have ${changes.size})`,
        () => changes.size >= 500,
        300_000,
      );
      await pipelineSettled(watch, 120_000);

      const { duplicates } = assertIndexedOnce(expected, changes);
      assert.ok(indexedAtKill < 500, `the kill came after everything was indexed (${indexedAtKill}); it tested nothing`);
      assert.equal(await indexedVectors(tenant), 500, 'the index holds each asset once');
      console.log(
        `[faults] kill -9 embedding: ${((Date.now() - started) / 1000).toFixed(1)} s; killed at ${indexedAtKill}/500 indexed (${uploadedAtKill} uploaded), ` +
          `restart to ready ${restartSeconds.toFixed(1)} s, ${duplicates} duplicate asset.indexed (changed: false)`,
      );
    } finally {
      await watch.stop();
    }
  });

  it('kill -9 of retrieval under search load: clients see only 503/504 with Retry-After, only during the outage, and the index is intact after the restart', async () => {
    const started = Date.now();
    const tenant = `fr-${run}`;
    const uploads = rows.slice(0, 40).map((row) => ({ row, key: `${tenant}/${row.file}` }));
    await uploadAll(uploads);
    await untilAsync(
      () => `${uploads.length} assets indexed for ${tenant}`,
      async () => (await indexedVectors(tenant)) >= uploads.length,
      180_000,
    );
    const queries = ['a photo of a beagle', 'a cat sleeping on a sofa', 'a small white dog on grass', 'a black cat'];
    const search = (text: string) => api(tenant, '/v1/search', { method: 'POST', json: { text, k: 5, minScore: -1 } });
    /** Each query's hits as `path score`: what must be the same before and after the restart. */
    const ranking = async (): Promise<string[][]> => {
      const out: string[][] = [];
      for (const text of queries) {
        const res = await apiRetrying(tenant, '/v1/search', { method: 'POST', json: { text, k: 5, minScore: -1 } });
        const body = (await res.json()) as { hits: { path: string; score: number }[] };
        assert.equal(res.status, 200, JSON.stringify(body));
        out.push(body.hits.map((h) => `${h.path} ${h.score.toFixed(6)}`));
      }
      return out;
    };
    const rankingBefore = await ranking();
    assert.ok(
      rankingBefore.every((hits) => hits.length === 5),
      JSON.stringify(rankingBefore),
    );

    interface Outcome {
      client: number;
      sentAt: number;
      receivedAt: number;
      status: number;
      retryAfter: string | null;
      detail: string;
    }
    const outcomes: Outcome[] = [];
    let stopLoad = false;
    const client = async (n: number) => {
      for (let i = 0; !stopLoad; i++) {
        const sentAt = Date.now();
        let status = 0;
        let retryAfter: string | null = null;
        let detail = '';
        try {
          const res = await search(queries[(n + i) % queries.length]);
          status = res.status;
          retryAfter = res.headers.get('retry-after');
          const body = (await res.json()) as { error?: { code: string; message: string } };
          detail = body.error ? `${body.error.code}: ${body.error.message}` : '';
        } catch (error) {
          detail = (error as Error).message; // status 0: no HTTP answer at all
        }
        outcomes.push({ client: n, sentAt, receivedAt: Date.now(), status, retryAfter, detail });
        // A client that is told when to retry waits that long (bounded), as the hint asks.
        if (status !== 200 && retryAfter) await new Promise((r) => setTimeout(r, Math.min(Number(retryAfter) || 1, 5) * 1000));
      }
    };
    const answered = (n: number, from: number) => outcomes.filter((o) => o.client === n && o.sentAt > from).length;
    const load = Promise.all(Array.from({ length: SEARCH_CLIENTS }, (_, n) => client(n)));
    let killedAt = 0;
    let readyAt = 0;
    try {
      await until(
        () => `every client to have 3 answers before the kill (have ${outcomes.length} in all)`,
        () => Array.from({ length: SEARCH_CLIENTS }, (_, n) => answered(n, 0)).every((k) => k >= 3),
        120_000,
      );
      killedAt = Date.now();
      await cluster.kill('retrieval', 'SIGKILL');
      await cluster.start('retrieval');
      readyAt = Date.now();
      const settledAt = readyAt + SEARCH_SETTLE_MS;
      await until(
        () =>
          `every client to have 3 answers to searches sent ${SEARCH_SETTLE_MS} ms after retrieval was ready (have ${Array.from({ length: SEARCH_CLIENTS }, (_, n) => answered(n, settledAt)).join(', ')})`,
        () => Date.now() > settledAt && Array.from({ length: SEARCH_CLIENTS }, (_, n) => answered(n, settledAt)).every((k) => k >= 3),
        240_000,
      );
    } finally {
      stopLoad = true;
      await load;
    }

    const settledAt = readyAt + SEARCH_SETTLE_MS;
    const show = (o: Outcome) =>
      `client ${o.client}, sent ${o.sentAt - killedAt} ms after the kill (ready at ${readyAt - killedAt}), answered ${o.receivedAt - killedAt}: ${o.status} Retry-After ${o.retryAfter} ${o.detail}`;
    const errors = outcomes.filter((o) => o.status !== 200);
    const slowest = Math.max(...outcomes.filter((o) => o.status === 200 && o.receivedAt > killedAt).map((o) => o.receivedAt - o.sentAt));
    console.log(
      `[faults] kill -9 retrieval: ${((Date.now() - started) / 1000).toFixed(1)} s; ${outcomes.length} searches by ${SEARCH_CLIENTS} clients, ${errors.length} errors ` +
        `(${[...new Set(errors.map((e) => e.status))].join('/') || 'none'}), ready ${((readyAt - killedAt) / 1000).toFixed(1)} s after the kill, slowest answer after it ${(slowest / 1000).toFixed(1)} s`,
    );
    assert.deepEqual(errors.filter((o) => o.status !== 503 && o.status !== 504).map(show), [], 'every error is a 503 or a 504');
    assert.deepEqual(errors.filter((o) => !/^[1-9][0-9]*$/.test(o.retryAfter ?? '')).map(show), [], 'every error says when to retry (Retry-After)');
    assert.deepEqual(errors.filter((o) => o.receivedAt < killedAt).map(show), [], 'no error before the kill');
    assert.deepEqual(
      errors.filter((o) => o.sentAt > settledAt).map(show),
      [],
      `no error for a search sent more than ${SEARCH_SETTLE_MS} ms after retrieval reported ready`,
    );
    assert.ok(
      outcomes.some((o) => o.sentAt <= killedAt && o.receivedAt > killedAt),
      'searches were in flight when retrieval was killed',
    );
    assert.deepEqual(await ranking(), rankingBefore, 'the same hits with the same scores after the restart');
    // Every asset, once: a search as wide as the library returns each of its paths exactly once
    // (the index gauge is no witness here: a restarted retrieval reports a tenant only after its next change).
    const everything = await apiRetrying(tenant, '/v1/search', { method: 'POST', json: { text: 'a photo', k: 50, minScore: -1 } });
    const paths = ((await everything.json()) as { hits: { path: string }[] }).hits.map((h) => h.path).sort();
    assert.deepEqual(paths, uploads.map((u) => `${SEEDS}/${u.key}`).sort(), 'the index holds each asset once');
  });

  it('an embedding replica gets its share of the text-embedding queries; stopped with SIGTERM under search load, it drains its gRPC calls and no search fails', async () => {
    const tenant = `fe-${run}`;
    const uploads = rows.slice(0, 4).map((row) => ({ row, key: `${tenant}/${row.file}` }));
    await uploadAll(uploads);
    await untilAsync(
      () => `${uploads.length} assets indexed for ${tenant}`,
      async () => (await indexedVectors(tenant)) >= uploads.length,
      180_000,
    );
    /** Text-embedding queries a process answered OK, from its own gRPC server metrics. */
    const embedCalls = async (port: number): Promise<number> => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
      const line = text.split('\n').find((l) => l.startsWith('adseed_grpc_server_handled_total{') && l.includes('EmbedTexts') && l.includes('code="OK"'));
      return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
    };
    const failures: string[] = [];
    let sent = 0;
    // distinct texts: every search embeds its text (retrieval → embedding over gRPC)
    const searchOnce = async (label: string) => {
      const res = await api(tenant, '/v1/search', { method: 'POST', json: { text: `a dog, ${label} ${sent++}`, k: 2, minScore: -1 } });
      const body = await res.text();
      if (res.status !== 200) failures.push(`${label}: ${res.status} ${body.slice(0, 200)}`);
    };
    const replica = await cluster.startReplica('embedding', 'b');
    try {
      // the callers list the replica's slot already; their channels connect within the reconnect backoff
      await untilAsync(
        () => 'a text embedding answered by the replica',
        async () => {
          await searchOnce('warm-up');
          return (await embedCalls(replica.port)) > 0;
        },
        60_000,
      );
      assert.ok((await embedCalls(cluster.portOf('embedding'))) > 0, 'the first replica answers too');
      failures.length = 0;

      let stopping = false;
      let afterStop = 0;
      const client = async (c: number) => {
        while (!stopping || afterStop < 6) {
          await searchOnce(`client ${c}`);
          if (stopping) afterStop++;
        }
      };
      const load = Promise.all([0, 1].map(client));
      await untilAsync(
        () => 'searches under load',
        async () => sent >= 6,
        60_000,
      );
      const servedByReplica = await embedCalls(replica.port);
      await replica.stop('SIGTERM');
      stopping = true;
      await load;
      assert.deepEqual(failures, [], 'no search failed while the replica stopped');
      assert.ok(servedByReplica > 0);
      const log = readFileSync(join(dataDir, 'embedding-b.log'), 'utf8');
      assert.match(log, /gRPC queries drained/, 'the replica drained its gRPC server on SIGTERM');
      assert.ok(log.indexOf('gRPC queries drained') < log.indexOf('kafka bus closed'), 'the drain came before the bus closed');
    } finally {
      await replica.stop();
    }
  });

  it('a gateway replica has one consumer group per live view while it runs and leaves none behind when it stops', async () => {
    const live = (groups: string[]) => groups.filter((g) => /^gateway-(ads|sse|job-sse)-/.test(g));
    const before = new Set(live(await probe.groups()));
    const replica = await cluster.startReplica('gateway', 'groups');
    let added: string[] = [];
    try {
      // the SSE hubs' and single-ad outcomes' subscriptions join during start-up
      await untilAsync(
        () => `the replica's three groups (have ${added.join(', ')})`,
        async () => {
          added = live(await probe.groups()).filter((g) => !before.has(g));
          return added.length >= 3;
        },
        60_000,
      );
      assert.deepEqual(added.map((g) => g.replace(/^(gateway-(ads|sse|job-sse))-.*$/, '$1')).sort(), ['gateway-ads', 'gateway-job-sse', 'gateway-sse']);
    } finally {
      await replica.stop('SIGTERM');
    }
    const left = new Set(await probe.groups());
    assert.deepEqual(
      added.filter((g) => left.has(g)),
      [],
      'the stopped replica deleted its groups',
    );
  });

  it('a gateway restarted under open event streams: every client reconnects with Last-Event-ID and catches up with what changed meanwhile, nothing missing, nothing twice', async () => {
    const started = Date.now();
    const tenant = `fs-${run}`;
    const uploads = rows.slice(0, 12).map((row) => ({ row, key: `${tenant}/${row.file}` }));
    await uploadAll(uploads);
    await untilAsync(
      () => `${uploads.length} assets indexed for ${tenant}`,
      async () => (await indexedVectors(tenant)) >= uploads.length,
      180_000,
    );
    const brandPath = await uploadBrand(tenant);
    // A second gateway replica: where the changes are made while the first one is down, as
    // during a rolling restart (it also folds the job's outcomes meanwhile).
    const second = await cluster.startReplica('gateway', 'b');
    const clients: SseClient[] = [];
    try {
      const created = await apiRetrying(tenant, '/v1/conversations', { method: 'POST', json: { segment: 'dog owner' } });
      const conversation = (await created.json()) as Conversation;
      assert.equal(created.status, 201, JSON.stringify(conversation));
      const job = await createJob(tenant, {
        brandPath,
        seedPaths: uploads.slice(0, 2).map((u) => `${SEEDS}/${u.key}`),
        formats: ['1:1', '4:5', '9:16', '1.91:1'],
        variants: 4,
      });
      const total = job.progress.total;
      const stream = (path: string) => {
        const client = new SseClient(`${cluster.gatewayUrl}${path}`, { headers: { 'x-tenant-id': tenant } });
        clients.push(client);
        return client;
      };
      const conversationClients = [0, 1, 2].map(() => stream(`/v1/conversations/${conversation.id}/events`));
      const jobClients = [0, 1, 2].map(() => stream(`/v1/jobs/${job.id}/events`));
      const reply = async (gatewayUrl: string, text: string): Promise<Conversation> => {
        const res = await fetch(`${gatewayUrl}/v1/conversations/${conversation.id}/messages`, {
          method: 'POST',
          headers: { 'x-tenant-id': tenant, 'content-type': 'application/json' },
          body: JSON.stringify({ text }),
          signal: AbortSignal.timeout(60_000),
        });
        const body = (await res.json()) as Conversation;
        assert.equal(res.status, 200, JSON.stringify(body));
        return body;
      };

      await until(
        () => 'a state on every stream',
        () => clients.every((c) => c.events.length >= 1),
        60_000,
      );
      await until(
        () => `an ad of the job made, on every job stream (have ${jobClients.map((c) => c.states<Job>().at(-1)?.progress.done).join(', ')})`,
        () => jobClients.every((c) => c.states<Job>().some((j) => j.progress.done >= 1)),
        180_000,
      );
      const beforeRestart = await readJob(tenant, job.id);
      assert.ok(
        !finished(beforeRestart),
        `the job finished before the gateway restart (${beforeRestart.progress.done}/${total}); the restart would test nothing`,
      );

      // The first gateway stops (SIGTERM, as a rolling deploy does): its streams end, clients retry.
      const stopStarted = Date.now();
      await cluster.kill('gateway');
      const stopSeconds = (Date.now() - stopStarted) / 1000;
      const seenBeforeRestart = Math.max(...jobClients.map((c) => Math.max(...c.states<Job>().map((j) => j.progress.done + j.progress.failed))));
      // Changes while the clients are away: two replies through the other replica, and the job's
      // progress (folded by the other replica, or by this one once it is back).
      const awayStates = [await reply(second.url, 'not quite'), await reply(second.url, 'not quite')];
      await untilAsync(
        () => `job progress past ${seenBeforeRestart} through the other replica`,
        async () => {
          const j = await readJob(tenant, job.id, second.url);
          return j.progress.done + j.progress.failed > seenBeforeRestart;
        },
        120_000,
      );
      await cluster.start('gateway');
      const backAt = Date.now();

      const caughtUp = awayStates[awayStates.length - 1];
      await until(
        () => 'every conversation stream caught up',
        () => conversationClients.every((c) => c.states<Conversation>().some((s) => s.messages.length >= caughtUp.messages.length)),
        60_000,
      );
      // A change after the reconnect reaches every stream live.
      const live = await reply(cluster.gatewayUrl, 'not quite');
      await until(
        () => 'the change after the restart on every conversation stream',
        () => conversationClients.every((c) => c.states<Conversation>().some((s) => s.messages.length >= live.messages.length)),
        60_000,
      );
      // Job streams end with the job; a reconnect after the final state is told 204 and stops.
      await until(
        () =>
          `every job stream to see the job end and be told 204 (progress seen: ${jobClients.map((c) => c.states<Job>().at(-1)?.progress.done).join(', ')} of ${total})`,
        () => jobClients.every((c) => c.noContent),
        600_000,
      );
      const catchUpSeconds = (Date.now() - backAt) / 1000;

      const ids = (c: SseClient) => c.events.map((e) => e.id ?? '(none)');
      const increasing = (c: SseClient) => c.events.every((e, i) => i === 0 || compareEventIds(c.events[i - 1].id, e.id) < 0);
      const final = (await (await apiRetrying(tenant, `/v1/conversations/${conversation.id}`)).json()) as Conversation;
      for (const [n, c] of conversationClients.entries()) {
        const what = `conversation stream ${n}`;
        assert.equal(c.retrySeen, true, `${what}: retry: sent`);
        assert.ok(c.connections >= 2, `${what} reconnected (${c.connections} connections; failures ${c.failures.join(' | ')})`);
        assert.ok(increasing(c), `${what}: every event has an id, each newer than the last (nothing twice): ${ids(c).join(' ')}`);
        const first = c.events.find((e) => e.connection > 1);
        assert.ok(first, `${what}: an event after the reconnect`);
        assert.deepEqual(
          (JSON.parse(first.data) as Conversation).messages,
          caughtUp.messages,
          `${what}: the first event after the reconnect holds every change made while it was away`,
        );
        assert.deepEqual(c.states<Conversation>().at(-1)!.messages, final.messages, `${what} ends where the conversation is`);
      }
      const finalJob = await readJob(tenant, job.id);
      for (const [n, c] of jobClients.entries()) {
        const what = `job stream ${n}`;
        const states = c.states<Job>();
        assert.equal(c.retrySeen, true, `${what}: retry: sent`);
        assert.ok(c.connections >= 2, `${what} reconnected (${c.connections} connections; failures ${c.failures.join(' | ')})`);
        assert.ok(increasing(c), `${what}: every event has an id, each newer than the last (nothing twice): ${ids(c).join(' ')}`);
        const progress = states.map((j) => j.progress.done + j.progress.failed);
        assert.deepEqual(
          progress,
          [...progress].sort((a, b) => a - b),
          `${what}: progress never goes backwards`,
        );
        const firstAfter = c.events.findIndex((e) => e.connection > 1);
        assert.ok(
          progress[firstAfter] > seenBeforeRestart,
          `${what}: the first state after the reconnect has the ads made while it was away (${progress[firstAfter]} > ${seenBeforeRestart})`,
        );
        // Not `updatedAt`: a redelivered outcome folded again after the end moves it (the gateway
        // rewrites the outcome object), and changes nothing a client sees otherwise.
        assert.deepEqual({ ...states.at(-1), updatedAt: undefined }, { ...finalJob, updatedAt: undefined }, `${what} ends with the job's final state`);
      }
      await assertEveryAdOnce(tenant, finalJob);
      console.log(
        `[faults] gateway restart under ${clients.length} event streams: ${((Date.now() - started) / 1000).toFixed(1)} s; stop took ${stopSeconds.toFixed(1)} s, away ${((backAt - stopStarted) / 1000).toFixed(1)} s, ` +
          `all caught up and the job (${total} ads) seen to its end ${catchUpSeconds.toFixed(1)} s after the gateway was back`,
      );
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await second.stop();
      // The first gateway is back for the tests after this one, whatever happened here.
      if (
        !(await fetch(`${cluster.gatewayUrl}/readyz`).then(
          (r) => r.ok,
          () => false,
        ))
      )
        await cluster.start('gateway');
    }
  });

  it('the Kafka broker stopped and started mid-flow: the services recover by themselves, every image is indexed, search works', async () => {
    const started = Date.now();
    const tenant = `fb-${run}`;
    // The demo photos twice, under two prefixes (516 assets). The ingest waits for all of them:
    // the embedding service (which also turns MinIO's notifications into ingest requests) is
    // stopped while they are uploaded and started again once their notifications are in Kafka,
    // so the broker goes away with most of the ingest still to do. Uploading while it ran, the
    // whole ingest was at times done before the broker's stop began.
    const uploads = ['a', 'b'].flatMap((prefix) => rows.map((row) => ({ row, key: `${tenant}/${prefix}/${row.file}` })));
    const expected = new Set(uploads.map((u) => assetIdFor(`${SEEDS}/${u.key}`)));
    // No probe consumer lives through the restart (see KafkaProbe.watch): progress comes from the
    // retrieval service's index gauge, and `asset.indexed` is read afterwards from here.
    const indexedFrom = await probe.endOffsets(INDEXED);
    // MinIO drops notifications while the broker is down (no queue_dir): only stop it once every
    // upload's notification is in Kafka, so what is tested is the services, not MinIO.
    const notified = new Set<string>();
    const notifications = await probe.watch([StorageTopics.objectEvents.name], { fromBeginning: false }, (m) => {
      const event = parseJson(m.value) as Partial<StorageObjectEvent> | undefined;
      for (const r of event?.Records ?? []) {
        const key = decodeURIComponent(r.s3.object.key.replace(/\+/g, ' '));
        if (key.startsWith(`${tenant}/`)) notified.add(key);
      }
    });
    let brokerDown = false;
    let embeddingDown = false;
    let watch: Watch | undefined;
    try {
      embeddingDown = true;
      await cluster.kill('embedding', 'SIGTERM');
      await uploadAll(uploads);
      await until(
        () => `MinIO's notifications of ${uploads.length} uploads (have ${notified.size})`,
        () => notified.size >= uploads.length,
        60_000,
      );
      await notifications.stop();
      assert.equal(await indexedVectors(tenant), 0, 'nothing indexed while the embedding service was stopped');
      await cluster.start('embedding');
      embeddingDown = false;
      await untilAsync(
        () => 'the first assets indexed',
        async () => (await indexedVectors(tenant)) >= 10,
        120_000,
      );

      brokerDown = true;
      const indexedAtStop = await indexedVectors(tenant);
      const stopStarted = Date.now();
      await sh('bash scripts/infra/kafka.sh stop', 120_000);
      const indexedWhenDown = await indexedVectors(tenant);
      const stopSeconds = (Date.now() - stopStarted) / 1000;
      // Down long enough that every client notices: fetches, heartbeats and sends all fail.
      await new Promise((r) => setTimeout(r, BROKER_DOWN_MS));
      await sh('bash scripts/infra/kafka.sh start', 180_000);
      brokerDown = false;
      const brokerBack = Date.now();

      const changes = new Map<string, boolean[]>();
      watch = await probe.watch([INDEXED], { fromBeginning: true, startAt: { topic: INDEXED, offsets: indexedFrom } }, (m) => {
        const value = parseJson(m.value) as AssetIndexed | undefined;
        if (value?.tenant === tenant) changes.set(value.assetId, [...(changes.get(value.assetId) ?? []), value.changed]);
      });
      await until(
        () => `all ${uploads.length} assets indexed after the broker came back (have ${changes.size})`,
        () => changes.size >= uploads.length,
        240_000,
      );
      const recoverySeconds = (Date.now() - brokerBack) / 1000;
      await pipelineSettled(watch, 120_000);
      const { duplicates } = assertIndexedOnce(expected, changes);
      // The ingest must still be running when the broker's (controlled, 3–5 s) stop begins.
      assert.ok(indexedAtStop < uploads.length, `every asset was indexed before the broker's stop began (${indexedAtStop}); the stop tested nothing`);
      assert.equal(await indexedVectors(tenant), uploads.length);

      for (const service of ['embedding', 'retrieval', 'generation', 'agent', 'gateway'] as const) {
        const res = await fetch(`http://127.0.0.1:${cluster.portOf(service)}/readyz`, { signal: AbortSignal.timeout(10_000) });
        assert.equal(res.status, 200, `${service} ready again without a restart: ${await res.text()}`);
      }
      // A request can wait out a consumer group's rebalance after the restart (the old members'
      // session timeout, 30 s): search must work again within a bounded time, not on the first try;
      // meanwhile the gateway answers 503/504 with Retry-After, which a client honours.
      const searchFrom = Date.now();
      const res = await apiRetrying(tenant, '/v1/search', { method: 'POST', json: { text: 'a photo of a beagle', k: 3, minScore: -1 } }, 120_000);
      const body = (await res.json()) as { hits: { path: string }[] };
      assert.equal(res.status, 200, JSON.stringify(body));
      console.log(`[faults] first successful search ${((Date.now() - searchFrom) / 1000).toFixed(1)} s after all were indexed again`);
      assert.equal(body.hits.length, 3);
      for (const hit of body.hits) assert.ok(hit.path.startsWith(`${SEEDS}/${tenant}/`), hit.path);
      console.log(
        `[faults] Kafka stop/start: ${((Date.now() - started) / 1000).toFixed(1)} s; broker stopping at ${indexedAtStop}, stopped at ${indexedWhenDown}/${uploads.length} indexed ` +
          `(stop took ${stopSeconds.toFixed(1)} s, down ${BROKER_DOWN_MS / 1000} s more), all indexed ${recoverySeconds.toFixed(1)} s after it was back, ${duplicates} duplicate asset.indexed`,
      );
    } finally {
      await Promise.allSettled([watch?.stop(), notifications.stop()]);
      // Never leave the broker or the embedding service down for the tests after this one.
      if (brokerDown) await sh('bash scripts/infra/kafka.sh start', 180_000);
      if (embeddingDown) await cluster.start('embedding');
    }
  });

  it('the Kafka broker stopped and started during a running job: the job finishes with every ad made exactly once', async () => {
    const started = Date.now();
    const tenant = `fj-${run}`;
    const uploads = rows.slice(0, 4).map((row) => ({ row, key: `${tenant}/${row.file}` }));
    await uploadAll(uploads);
    const brandPath = await uploadBrand(tenant);
    const job = await createJob(tenant, {
      brandPath,
      seedPaths: uploads.map((u) => `${SEEDS}/${u.key}`),
      formats: ['1:1', '4:5', '9:16', '1.91:1'],
      variants: 4,
    });
    const total = job.progress.total;
    await untilAsync(
      () => 'the first ad of the job',
      async () => (await readJob(tenant, job.id)).progress.done >= 1,
      180_000,
    );
    let brokerDown = false;
    try {
      const atStop = await readJob(tenant, job.id);
      assert.ok(!finished(atStop), `the job finished before the broker stopped (${atStop.progress.done}/${total}); the stop would test nothing`);
      brokerDown = true;
      await sh('bash scripts/infra/kafka.sh stop', 120_000);
      const whenDown = await readJob(tenant, job.id);
      await new Promise((r) => setTimeout(r, BROKER_DOWN_MS)); // the fault: the broker stays down this long
      await sh('bash scripts/infra/kafka.sh start', 180_000);
      brokerDown = false;
      const brokerBack = Date.now();
      let last = whenDown;
      await untilAsync(
        () => `the job to finish after the broker came back (${last.status}, ${last.progress.done}+${last.progress.failed} of ${total})`,
        async () => finished((last = await readJob(tenant, job.id))),
        600_000,
      );
      await assertEveryAdOnce(tenant, last);
      console.log(
        `[faults] Kafka stop/start during a job: ${((Date.now() - started) / 1000).toFixed(1)} s; stopped at ${atStop.progress.done}/${total} made ` +
          `(${whenDown.progress.done} once it was down), the job done ${((Date.now() - brokerBack) / 1000).toFixed(1)} s after the broker was back, every ad once`,
      );
    } finally {
      if (brokerDown) await sh('bash scripts/infra/kafka.sh start', 180_000);
    }
  });

  it('a malformed event on every consumed topic ends in its .dlt with the reason, and each consumer goes on with the next event', async () => {
    const started = Date.now();
    const tenant = `fd-${run}`;
    const probePath = `${PROBE_BUCKET}/${tenant}/probe.jpg`;
    const storageKey = `${tenant}/storage-probe.jpg`;
    const image = photos.get(rows[0].file)!;
    if (!(await minio.bucketExists(PROBE_BUCKET))) await minio.makeBucket(PROBE_BUCKET);
    await minio.putObject(PROBE_BUCKET, `${tenant}/probe.jpg`, image, undefined, { 'Content-Type': 'image/jpeg' });
    await minio.putObject(SEEDS, storageKey, image, undefined, { 'Content-Type': 'image/jpeg' });

    // A live conversation, and its SSE stream through the gateway. Right after a broker restart the
    // agent's consumer group may still be rebalancing: the gateway then answers 504, and a client retries.
    const created = await apiRetrying(tenant, '/v1/conversations', { method: 'POST', json: { segment: 'dog owner' } });
    const conversation = (await created.json()) as Conversation;
    assert.equal(created.status, 201, JSON.stringify(conversation));
    const sse = await openEventStream(`${cluster.gatewayUrl}/v1/conversations/${conversation.id}/events`, tenant);

    const topics = [
      { topic: StorageTopics.objectEvents.name, group: 'embedding-storage-bridge', key: `fault-${run}-storage` },
      { topic: AssetTopics.ingestRequested.name, group: 'embedding', key: `fault-${run}-ingest` },
      { topic: AssetTopics.embedded.name, group: 'retrieval', key: `fault-${run}-embedded` },
      // queries go over gRPC now; single ads are events both ways
      { topic: GenerationTopics.singleAdRequested.name, group: 'generation', key: `fault-${run}-ad` },
      // read by the agent (conversations) and by every gateway replica (its own group, for POST /v1/ads)
      { topic: GenerationTopics.singleAdCompleted.name, group: /^(agent|gateway-ads-.+)$/, key: `fault-${run}-ad-done` },
      // Same key as the conversation's own updates: the poison sits on the partition the SSE hub reads for it.
      { topic: ConversationTopics.updated.name, group: /^gateway-sse-/, key: conversation.id },
    ] as const;

    const completed = new Map<string, SingleAdCompleted>();
    const dead = new Map<string, ProbedMessage[]>();
    const ingested: AssetIngestRequested[] = [];
    const embedded: AssetEmbedded[] = [];
    const indexed: AssetIndexed[] = [];
    const watches = await Promise.all([
      probe.watch([GenerationTopics.singleAdCompleted.name], { fromBeginning: false }, (m) => {
        const value = parseJson(m.value) as SingleAdCompleted | undefined;
        if (value?.requestId) completed.set(value.requestId, value);
      }),
      // DLTs from the start: our messages are told apart by their ids, and nothing can be missed.
      probe.watch(
        topics.map((t) => deadLetterTopicName(t.topic)),
        { fromBeginning: true },
        (m) => {
          const id = m.headers[H.id] ?? '';
          if (id.startsWith(`fault-${run}-`)) dead.set(id, [...(dead.get(id) ?? []), m]);
        },
      ),
      probe.watch([AssetTopics.ingestRequested.name, AssetTopics.embedded.name, INDEXED], { fromBeginning: false }, (m) => {
        const value = parseJson(m.value) as { tenant?: string } | undefined; // the poison passes here too
        if (value?.tenant !== tenant) return;
        if (m.topic === AssetTopics.ingestRequested.name) ingested.push(value as AssetIngestRequested);
        else if (m.topic === AssetTopics.embedded.name) embedded.push(value as AssetEmbedded);
        else indexed.push(value as AssetIndexed);
      }),
    ]);
    const headersFor = (id: string) => ({ [H.id]: id, [H.type]: 'fault-test', [H.source]: 'adseed-it' });

    try {
      // The gateway's SSE hub starts at new messages once its group joined: see one update through
      // it first, or a poison sent too early would be skipped rather than dead-lettered.
      await until(
        () => 'the initial SSE state',
        () => sse.states.length >= 1,
        30_000,
      );
      // After the broker restart of the previous scenario the hub's group may still be rejoining;
      // until it has, new messages are not yet "new" to it, so repeat the warm-up until one arrives.
      const warmUpSeen = () => sse.states.some((s) => s.segment.startsWith(`warm-up ${run}`));
      for (let attempt = 0; !warmUpSeen(); attempt++) {
        if (attempt >= 45) throw new Error('no conversation update reached the SSE hub within 90 s');
        const warmUp = { ...conversation, updatedAt: new Date().toISOString(), segment: `warm-up ${run} #${attempt}` };
        await probe.produce(ConversationTopics.updated.name, [
          { key: conversation.id, value: JSON.stringify(warmUp), headers: headersFor(`warm-${run}-${attempt}`) },
        ]);
        await until(() => 'a conversation update through the SSE hub', warmUpSeen, 2_000).catch(() => undefined);
      }

      // 1. Poison: bytes that are not JSON, and JSON that fails the topic's schema.
      for (const t of topics) {
        await probe.produce(t.topic, [
          { key: t.key, value: Buffer.from('{"assetId": "half a message', 'utf8'), headers: headersFor(`fault-${run}-json-${t.topic}`) },
          { key: t.key, value: JSON.stringify({ tenant: 42, hello: 'world' }), headers: headersFor(`fault-${run}-schema-${t.topic}`) },
        ]);
      }

      // 2. Every poison dead-lettered with its reason.
      const poisonIds = topics.flatMap((t) => [`fault-${run}-json-${t.topic}`, `fault-${run}-schema-${t.topic}`]);
      await until(
        () => `all ${poisonIds.length} poison messages in their DLTs (missing ${poisonIds.filter((id) => !dead.has(id)).join(', ')})`,
        () => poisonIds.every((id) => dead.has(id)),
        90_000,
      );
      for (const t of topics) {
        for (const [shape, reason] of [
          ['json', 'payload is not JSON'],
          ['schema', `payload does not match ${t.topic}`],
        ] as const) {
          for (const m of dead.get(`fault-${run}-${shape}-${t.topic}`)!) {
            const what = `${shape} poison on ${t.topic}`;
            assert.equal(m.topic, deadLetterTopicName(t.topic), what);
            assert.equal(m.headers[H.errorKind], 'validation', what);
            assert.ok(m.headers[H.error]?.startsWith(reason), `${what}: ${m.headers[H.error]}`);
            assert.equal(m.headers[H.originalTopic], t.topic, what);
            assert.ok(
              typeof t.group === 'string' ? m.headers[H.group] === t.group : t.group.test(m.headers[H.group] ?? ''),
              `${what}: group ${m.headers[H.group]}`,
            );
            assert.equal(m.key, t.key, what);
            if (shape === 'json') assert.equal(m.value, '{"assetId": "half a message', 'the DLT keeps the bytes as they were');
          }
        }
      }
      assert.match(dead.get(`fault-${run}-schema-${AssetTopics.ingestRequested.name}`)![0].headers[H.error], /tenant/, 'the reason names the field');

      // 3. A valid event after the poison, on the same partition (same key): each is processed.
      const probeAssetId = assetIdFor(probePath);
      const caption = `fault probe ${run}`;
      const storageEtag = `fault-${run}-etag`;
      const valid = (topic: string, value: unknown, id: string) =>
        probe.produce(topic, [{ key: topics.find((t) => t.topic === topic)!.key, value: JSON.stringify(value), headers: headersFor(id) }]);
      const storageEvent: StorageObjectEvent = {
        EventName: 's3:ObjectCreated:Put',
        Key: `${SEEDS}/${storageKey}`,
        Records: [
          {
            eventName: 's3:ObjectCreated:Put',
            s3: { bucket: { name: SEEDS }, object: { key: encodeURIComponent(storageKey), eTag: storageEtag, size: image.length } },
          },
        ],
      };
      await valid(StorageTopics.objectEvents.name, storageEvent, `valid-${run}-storage`);
      const ingest: AssetIngestRequested = { assetId: probeAssetId, tenant, kind: 'seed', path: probePath, caption, tags: ['probe'], source: 'event' };
      await valid(AssetTopics.ingestRequested.name, ingest, `valid-${run}-ingest`);
      const requestId = randomUUID();
      const requestedAt = new Date().toISOString();
      await valid(
        GenerationTopics.singleAdRequested.name,
        { requestId, origin: 'direct', request: { tenant, seedPath: probePath, brandPath: probePath, headline: 'Fault probe' }, requestedAt },
        `valid-${run}-ad`,
      );
      // an outcome for a conversation that is not generating: the agent takes it and changes nothing
      await valid(
        GenerationTopics.singleAdCompleted.name,
        {
          requestId: randomUUID(),
          origin: 'conversation',
          tenant,
          conversationId: conversation.id,
          seedPath: probePath,
          error: { status: 500, code: 'probe', message: 'probe' },
          completedAt: requestedAt,
        },
        `valid-${run}-ad-done`,
      );
      const update = { ...conversation, updatedAt: new Date().toISOString(), segment: `after the poison ${run}` };
      await valid(ConversationTopics.updated.name, update, `valid-${run}-updated`);
      // asset.embedded: the embedding service's own output for the probe, under another asset id.
      await until(
        () => 'asset.embedded for the ingest probe',
        () => embedded.some((e) => e.assetId === probeAssetId && e.caption === caption),
        60_000,
      );
      const copyId = `fault-${run}-copy`;
      await valid(AssetTopics.embedded.name, { ...embedded.find((e) => e.assetId === probeAssetId)!, assetId: copyId }, `valid-${run}-embedded`);

      await until(
        () => 'the single ad requested after the poison',
        () => completed.has(requestId),
        60_000,
      );
      assert.match(completed.get(requestId)!.ad?.path ?? JSON.stringify(completed.get(requestId)), new RegExp(`^ads/${tenant}/`));

      await until(
        () => 'the ingest probe indexed',
        () => indexed.some((e) => e.assetId === probeAssetId),
        60_000,
      );
      await until(
        () => 'the embedded copy indexed',
        () => indexed.some((e) => e.assetId === copyId && e.changed),
        60_000,
      );
      await until(
        () => 'an ingest request from the storage event',
        () => ingested.some((e) => e.contentHash === storageEtag && e.source === 'storage-notification'),
        60_000,
      );
      await until(
        () => 'the conversation update after the poison through SSE',
        () => sse.states.some((s) => s.segment === update.segment),
        60_000,
      );
      console.log(`[faults] poison on ${topics.length} topics: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } finally {
      sse.close();
      await Promise.allSettled(watches.map((w) => w.stop()));
    }
  });
});

async function untilAsync(what: () => string, predicate: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Orders two `a-b` event ids of one stream; an id missing or of another shape sorts first, so it fails an "increasing" check. */
function compareEventIds(a: string | undefined, b: string | undefined): number {
  const parse = (id: string | undefined) => (/^\d+-\d+$/.test(id ?? '') ? id!.split('-').map(Number) : [-1, -1]);
  const [x, y] = [parse(a), parse(b)];
  return x[0] - y[0] || x[1] - y[1];
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Runs a shell command from the repository root without blocking the event loop. */
function sh(command: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', command], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`\`${command}\` ${signal ? `was killed (${signal}) after ${timeoutMs} ms` : `exited with ${code}`}:\n${output.slice(-2_000)}`));
    });
  });
}

/** A server-sent-events client for the gateway's conversation stream: every `state` event, parsed. */
async function openEventStream(url: string, tenant: string): Promise<{ states: Conversation[]; close(): void }> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { 'x-tenant-id': tenant, accept: 'text/event-stream' }, signal: abort.signal });
  if (res.status !== 200 || !res.body) throw new Error(`SSE ${url} answered ${res.status}: ${await res.text()}`);
  const states: Conversation[] = [];
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  void (async () => {
    let buffer = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = event
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => l.slice(6))
          .join('\n');
        if (event.includes('event: state') && data) states.push(JSON.parse(data) as Conversation);
      }
    }
  })().catch(() => undefined); // aborted on close()
  return { states, close: () => abort.abort() };
}
