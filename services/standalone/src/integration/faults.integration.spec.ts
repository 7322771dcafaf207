import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
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
  type SingleAdCompleted,
  type StorageObjectEvent,
} from '@adseed/contracts';
import { H, kafkaGroupId } from '@adseed/messaging';
import { Client as MinioClient } from 'minio';
import { REPO_ROOT } from '../adseed.app';
import { parseManifest, type ManifestRow } from '../demo-library';
import { DEMO_LIBRARY, testModels } from '../e2e/harness';
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
const BROKER_DOWN_MS = 10_000;

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
      headers: { 'x-tenant-id': tenant, ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}), ...(init.headers as Record<string, string>) },
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
    await until(() => `the watch to read ${INDEXED} to its end`, () => watch.hasReadUpTo(INDEXED, ends), Math.max(1_000, deadline - Date.now()));
  };

  const assertIndexedOnce = (expected: Set<string>, changes: Map<string, boolean[]>): { duplicates: number } => {
    assert.deepEqual([...expected].filter((id) => !changes.has(id)), [], 'every asset indexed');
    assert.deepEqual([...changes.keys()].filter((id) => !expected.has(id)), [], 'nothing else indexed for the tenant');
    const changedTwice = [...changes].filter(([, seen]) => seen.filter(Boolean).length !== 1 || seen[0] !== true);
    assert.deepEqual(changedTwice, [], '`changed: true` exactly once per asset, on its first `asset.indexed`');
    return { duplicates: [...changes.values()].reduce((n, seen) => n + seen.length - 1, 0) };
  };

  before(async () => {
    const models = await testModels();
    probe = await KafkaProbe.connect([KAFKA]);
    cluster = await startCluster({ dataDir, basePort: 18500, env: { ...clusterEnv(models), KAFKA_BROKERS: KAFKA, MINIO_PORT: String(MINIO.port) } });
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
    const uploads = [...rows.map((row) => ({ row, key: `${tenant}/a/${row.file}` })), ...rows.map((row) => ({ row, key: `${tenant}/b/${row.file}` }))].slice(0, 500);
    assert.equal(uploads.length, 500, `the demo library has ${rows.length} photos; 250 are needed`);
    const expected = new Set(uploads.map((u) => assetIdFor(`${SEEDS}/${u.key}`)));
    const { watch, changes } = await watchIndexed(tenant);
    try {
      let uploadedCount = 0;
      const uploaded = uploadAll(uploads, () => uploadedCount++);
      await until(() => `250 of 500 assets indexed before the kill (have ${changes.size})`, () => changes.size >= 250, 300_000);
      const indexedAtKill = changes.size;
      const uploadedAtKill = uploadedCount;
      await cluster.kill('embedding', 'SIGKILL');
      const restartStarted = Date.now();
      await cluster.start('embedding');
      const restartSeconds = (Date.now() - restartStarted) / 1000;
      await uploaded;
      await until(() => `all 500 assets indexed (have ${changes.size})`, () => changes.size >= 500, 300_000);
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

  it('the Kafka broker stopped and started mid-flow: the services recover by themselves, every image is indexed, search works', async () => {
    const started = Date.now();
    const tenant = `fb-${run}`;
    const uploads = rows.map((row) => ({ row, key: `${tenant}/${row.file}` }));
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
    let watch: Watch | undefined;
    try {
      await uploadAll(uploads);
      await until(() => `MinIO's notifications of ${uploads.length} uploads (have ${notified.size})`, () => notified.size >= uploads.length, 60_000);
      await notifications.stop();
      await untilAsync(() => 'the first assets indexed', async () => (await indexedVectors(tenant)) >= 10, 120_000);

      brokerDown = true;
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
      await until(() => `all ${uploads.length} assets indexed after the broker came back (have ${changes.size})`, () => changes.size >= uploads.length, 240_000);
      const recoverySeconds = (Date.now() - brokerBack) / 1000;
      await pipelineSettled(watch, 120_000);
      const { duplicates } = assertIndexedOnce(expected, changes);
      assert.ok(indexedWhenDown < uploads.length, `every asset was indexed before the broker went down (${indexedWhenDown}); the stop tested nothing`);
      assert.equal(await indexedVectors(tenant), uploads.length);

      for (const service of ['embedding', 'retrieval', 'generation', 'agent', 'gateway'] as const) {
        const res = await fetch(`http://127.0.0.1:${cluster.portOf(service)}/readyz`, { signal: AbortSignal.timeout(10_000) });
        assert.equal(res.status, 200, `${service} ready again without a restart: ${await res.text()}`);
      }
      // A request can wait out a consumer group's rebalance after the restart (the old members'
      // session timeout, 30 s): search must work again within a bounded time, not on the first try.
      const searchFrom = Date.now();
      let res: Response;
      let body: { hits: { path: string }[] };
      for (;;) {
        res = await api(tenant, '/v1/search', { method: 'POST', json: { text: 'a photo of a beagle', k: 3, minScore: -1 } });
        body = (await res.json()) as { hits: { path: string }[] };
        if (res.status === 200 || Date.now() - searchFrom > 120_000) break;
        console.log(`[faults] search after the broker restart answered ${res.status}; trying again`);
      }
      assert.equal(res.status, 200, JSON.stringify(body));
      console.log(`[faults] first successful search ${((Date.now() - searchFrom) / 1000).toFixed(1)} s after all were indexed again`);
      assert.equal(body.hits.length, 3);
      for (const hit of body.hits) assert.ok(hit.path.startsWith(`${SEEDS}/${tenant}/`), hit.path);
      console.log(
        `[faults] Kafka stop/start: ${((Date.now() - started) / 1000).toFixed(1)} s; broker stopped at ${indexedWhenDown}/${uploads.length} indexed ` +
          `(stop took ${stopSeconds.toFixed(1)} s, down ${BROKER_DOWN_MS / 1000} s more), all indexed ${recoverySeconds.toFixed(1)} s after it was back, ${duplicates} duplicate asset.indexed`,
      );
    } finally {
      // Never leave the broker down for the tests after this one.
      if (brokerDown) await sh('bash scripts/infra/kafka.sh start', 180_000);
      await Promise.allSettled([watch?.stop(), notifications.stop()]);
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

    // A live conversation, and its SSE stream through the gateway.
    const created = await api(tenant, '/v1/conversations', { method: 'POST', json: { segment: 'dog owner' } });
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
      { topic: GenerationTopics.singleAdCompleted.name, group: /^(agent|gateway-ads-[0-9a-f]{8})$/, key: `fault-${run}-ad-done` },
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
      probe.watch(topics.map((t) => deadLetterTopicName(t.topic)), { fromBeginning: true }, (m) => {
        const id = m.headers[H.id] ?? '';
        if (id.startsWith(`fault-${run}-`)) dead.set(id, [...(dead.get(id) ?? []), m]);
      }),
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
      await until(() => 'the initial SSE state', () => sse.states.length >= 1, 30_000);
      // After the broker restart of the previous scenario the hub's group may still be rejoining;
      // until it has, new messages are not yet "new" to it, so repeat the warm-up until one arrives.
      const warmUpSeen = () => sse.states.some((s) => s.segment.startsWith(`warm-up ${run}`));
      for (let attempt = 0; !warmUpSeen(); attempt++) {
        if (attempt >= 45) throw new Error('no conversation update reached the SSE hub within 90 s');
        const warmUp = { ...conversation, updatedAt: new Date().toISOString(), segment: `warm-up ${run} #${attempt}` };
        await probe.produce(ConversationTopics.updated.name, [{ key: conversation.id, value: JSON.stringify(warmUp), headers: headersFor(`warm-${run}-${attempt}`) }]);
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
      await until(() => `all ${poisonIds.length} poison messages in their DLTs (missing ${poisonIds.filter((id) => !dead.has(id)).join(', ')})`, () => poisonIds.every((id) => dead.has(id)), 90_000);
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
            assert.ok(typeof t.group === 'string' ? m.headers[H.group] === t.group : t.group.test(m.headers[H.group] ?? ''), `${what}: group ${m.headers[H.group]}`);
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
        Records: [{ eventName: 's3:ObjectCreated:Put', s3: { bucket: { name: SEEDS }, object: { key: encodeURIComponent(storageKey), eTag: storageEtag, size: image.length } } }],
      };
      await valid(StorageTopics.objectEvents.name, storageEvent, `valid-${run}-storage`);
      const ingest: AssetIngestRequested = { assetId: probeAssetId, tenant, kind: 'seed', path: probePath, caption, tags: ['probe'], source: 'event' };
      await valid(AssetTopics.ingestRequested.name, ingest, `valid-${run}-ingest`);
      const requestId = randomUUID();
      const requestedAt = new Date().toISOString();
      await valid(GenerationTopics.singleAdRequested.name, { requestId, origin: 'direct', request: { tenant, seedPath: probePath, brandPath: probePath, headline: 'Fault probe' }, requestedAt }, `valid-${run}-ad`);
      // an outcome for a conversation that is not generating: the agent takes it and changes nothing
      await valid(GenerationTopics.singleAdCompleted.name, { requestId: randomUUID(), origin: 'conversation', tenant, conversationId: conversation.id, seedPath: probePath, error: { status: 500, code: 'probe', message: 'probe' }, completedAt: requestedAt }, `valid-${run}-ad-done`);
      const update = { ...conversation, updatedAt: new Date().toISOString(), segment: `after the poison ${run}` };
      await valid(ConversationTopics.updated.name, update, `valid-${run}-updated`);
      // asset.embedded: the embedding service's own output for the probe, under another asset id.
      await until(() => 'asset.embedded for the ingest probe', () => embedded.some((e) => e.assetId === probeAssetId && e.caption === caption), 60_000);
      const copyId = `fault-${run}-copy`;
      await valid(AssetTopics.embedded.name, { ...embedded.find((e) => e.assetId === probeAssetId)!, assetId: copyId }, `valid-${run}-embedded`);

      await until(() => 'the single ad requested after the poison', () => completed.has(requestId), 60_000);
      assert.match(completed.get(requestId)!.ad?.path ?? JSON.stringify(completed.get(requestId)), new RegExp(`^ads/${tenant}/`));

      await until(() => 'the ingest probe indexed', () => indexed.some((e) => e.assetId === probeAssetId), 60_000);
      await until(() => 'the embedded copy indexed', () => indexed.some((e) => e.assetId === copyId && e.changed), 60_000);
      await until(() => 'an ingest request from the storage event', () => ingested.some((e) => e.contentHash === storageEtag && e.source === 'storage-notification'), 60_000);
      await until(() => 'the conversation update after the poison through SSE', () => sse.states.some((s) => s.segment === update.segment), 60_000);
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
        const data = event.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
        if (event.includes('event: state') && data) states.push(JSON.parse(data) as Conversation);
      }
    }
  })().catch(() => undefined); // aborted on close()
  return { states, close: () => abort.abort() };
}
