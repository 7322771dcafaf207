import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { renderDemoBrandPack } from '@adseed/generation';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '@adseed/telemetry';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { Client as MinioClient } from 'minio';
import { parseManifest } from '../demo-library';
import { DEMO_LIBRARY, PNG_SIGNATURE, startTestApp, testModels } from '../e2e/harness';
import { PRODUCT_LIBRARY, SEGMENTS } from '../e2e/product-library';
import sharp from 'sharp';
import { INFRA, startCluster, type Cluster } from './cluster';
import { PROTO_DIR } from '@adseed/platform';
import { credentials, loadPackageDefinition, type Client } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { clusterEnv } from './cluster-env';

type Json = Record<string, any>;

/**
 * Watches `asset.indexed` from the test's own consumer group, keyed by asset id (and keeps the
 * first `asset.embedded` of each of the tenant's assets, as sent).
 */
async function watchIndexed(tenant: string): Promise<{ consumer: Consumer; changes: Map<string, boolean[]>; embedded: Map<string, string> }> {
  const kafka = new Kafka({ clientId: 'adseed-it', brokers: [INFRA.kafka], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `it-watch-${randomUUID()}` });
  const changes = new Map<string, boolean[]>();
  const embedded = new Map<string, string>();
  // A new group starts at the end of the log only once it has joined: wait for the assignment
  // (listen before run(), which may join before it returns).
  const joined = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the watcher did not join its consumer group within 60 s')), 60_000);
    consumer.on(consumer.events.GROUP_JOIN, () => {
      clearTimeout(timer);
      resolve();
    });
  });
  await consumer.connect();
  await consumer.subscribe({ topics: ['adseed.asset.indexed.v1', 'adseed.asset.embedded.v1'], fromBeginning: false });
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      const raw = message.value!.toString();
      const value = JSON.parse(raw) as { assetId: string; tenant: string; changed: boolean };
      if (value.tenant !== tenant) return;
      if (topic === 'adseed.asset.embedded.v1') {
        if (!embedded.has(value.assetId)) embedded.set(value.assetId, raw);
      } else changes.set(value.assetId, [...(changes.get(value.assetId) ?? []), value.changed]);
    },
  });
  await joined;
  return { consumer, changes, embedded };
}

async function listTopics(): Promise<string[]> {
  const admin = new Kafka({ clientId: 'adseed-it', brokers: [INFRA.kafka], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return await admin.listTopics();
  } finally {
    await admin.disconnect();
  }
}

/** `grpc.health.v1.Health/Check` of one service's gRPC port. */
async function grpcHealth(port: number, service: string): Promise<string> {
  const definition = loadSync(join(PROTO_DIR, 'grpc/health/v1/health.proto'), { enums: String, defaults: true });
  const pkg = loadPackageDefinition(definition) as unknown as {
    grpc: { health: { v1: { Health: new (target: string, creds: ReturnType<typeof credentials.createInsecure>) => Client } } };
  };
  const client = new pkg.grpc.health.v1.Health(`127.0.0.1:${port}`, credentials.createInsecure());
  try {
    return await new Promise<string>((resolve, reject) =>
      (client as unknown as { Check(req: object, options: object, cb: (e: Error | null, r?: { status: string }) => void): void }).Check(
        { service },
        { deadline: Date.now() + 5_000 },
        (error, res) => (error ? reject(error) : resolve(res!.status)),
      ),
    );
  } finally {
    client.close();
  }
}

async function until(what: string, predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('every service its own process, on real Kafka, MinIO and Triton, with the Qdrant adapter on the qdrant-edge shim (no Qdrant server can run here)', () => {
  const tenant = `mp-${randomUUID().slice(0, 8)}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'adseed-cluster-'));
  let cluster: Cluster;
  let receiver: OtlpReceiver;
  let models: { clipModelDir: string; captionModelDir: string };
  const minio = new MinioClient({ ...INFRA.minio, useSSL: false });
  const rows = parseManifest(readFileSync(join(DEMO_LIBRARY, 'manifest.csv'), 'utf8')).slice(0, 200);
  const api = (path: string, init: RequestInit & { json?: unknown } = {}) =>
    fetch(`${cluster.gatewayUrl}${path}`, {
      ...init,
      headers: {
        'x-tenant-id': tenant,
        ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(init.headers as Record<string, string>),
      },
      ...(init.json !== undefined ? { body: JSON.stringify(init.json) } : {}),
    });

  let topicsBefore: Set<string>;

  before(async () => {
    models = await testModels();
    receiver = await startOtlpReceiver();
    topicsBefore = new Set(await listTopics());
    cluster = await startCluster({
      dataDir,
      basePort: 18400,
      env: {
        ...clusterEnv(models, { encoder: 'triton', index: 'qdrant' }),
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_BSP_SCHEDULE_DELAY: '200',
      },
    });
  });
  after(async () => {
    await cluster?.stop();
    await receiver?.close();
    if (process.env.ADSEED_IT_KEEP !== '1') rmSync(dataDir, { recursive: true, force: true });
  });

  it('indexes 200 images dropped straight into MinIO — bucket notification → Kafka → embedding → retrieval — each exactly once', async () => {
    const { consumer, changes } = await watchIndexed(tenant);
    try {
      for (const row of rows) {
        await minio.putObject('seeds', `${tenant}/oxford-pets/${row.file}`, readFileSync(join(DEMO_LIBRARY, row.file)), undefined, {
          'Content-Type': 'image/jpeg',
          ...(row.caption ? { 'X-Amz-Meta-Caption': encodeURIComponent(row.caption) } : {}),
          'X-Amz-Meta-Tags': encodeURIComponent(row.tags.join(',')),
        });
      }
      await until(`200 assets indexed (have ${changes.size})`, () => changes.size >= 200, 600_000);
      await new Promise((r) => setTimeout(r, 2_000)); // would any duplicate still arrive?
      assert.equal(changes.size, 200);
      for (const [id, seen] of changes) assert.deepEqual(seen, [true], `asset ${id} indexed once`);
      const listed = (await (await api('/v1/assets?kind=seed&limit=500')).json()) as Json;
      assert.equal(listed.items.length, 200);
    } finally {
      await consumer.disconnect();
    }
  });

  it('runs a whole conversation through the gateway and stores the PNG ad in MinIO', async () => {
    const form = new FormData();
    form.set('file', new Blob([new Uint8Array(await renderDemoBrandPack())]), 'pawsome.png');
    form.set('kind', 'brand');
    assert.equal((await api('/v1/assets', { method: 'POST', body: form })).status, 201);
    let c = (await (await api('/v1/conversations', { method: 'POST', json: { segment: 'outdoor-loving dog owner' } })).json()) as Json;
    assert.equal(c.status, 'awaiting-subject', JSON.stringify(c));
    for (const text of ['yes', 'next', 'yes']) {
      c = (await (await api(`/v1/conversations/${c.id}/messages`, { method: 'POST', json: { text } })).json()) as Json;
    }
    assert.equal(c.status, 'done', JSON.stringify(c.messages?.slice(-2)));
    const [bucket, ...key] = c.ad.path.split('/');
    const stat = await minio.statObject(bucket, key.join('/'));
    assert.ok(stat.size > 10_000);
    const png = Buffer.from(await (await api(c.ad.url)).arrayBuffer());
    assert.ok(png.subarray(0, 8).equals(PNG_SIGNATURE));
    // Clients can fetch straight from MinIO with a short-lived presigned URL.
    const link = (await (await api(`/v1/assets/url?path=${encodeURIComponent(c.ad.path)}`)).json()) as Json;
    assert.equal(link.presigned, true);
    assert.match(link.url, /X-Amz-Signature=/);
    const direct = Buffer.from(await (await fetch(link.url)).arrayBuffer());
    assert.ok(direct.equals(png));
  });

  it("any library on Kafka + MinIO: a product library's own subjects, fitting proposals, rights, and delete through events", async () => {
    const shop = `shop-${randomUUID().slice(0, 8)}`;
    const call = (path: string, init: RequestInit & { json?: unknown } = {}) =>
      api(path, { ...init, headers: { 'x-tenant-id': shop, ...(init.headers as Record<string, string>) } });
    const { consumer, changes, embedded } = await watchIndexed(shop);
    try {
      const photos = [
        ...PRODUCT_LIBRARY,
        { file: 'kayak-1.jpg', caption: 'A kayak on a calm river', tags: ['kayak'], rgb: [250, 200, 0] as [number, number, number] },
      ];
      for (const photo of photos) {
        const form = new FormData();
        const bytes = await sharp({ create: { width: 160, height: 120, channels: 3, background: { r: photo.rgb[0], g: photo.rgb[1], b: photo.rgb[2] } } })
          .jpeg()
          .toBuffer();
        form.set('file', new Blob([new Uint8Array(bytes)]), photo.file);
        form.set('caption', photo.caption);
        form.set('tags', photo.tags.join(','));
        form.set('licence', photo.file.startsWith('kayak') ? 'none' : 'owned');
        assert.equal((await call('/v1/assets', { method: 'POST', body: form })).status, 201);
      }
      await until(`${photos.length} product photos indexed (have ${changes.size})`, () => changes.size >= photos.length, 300_000);

      const subjects = async () => ((await (await call('/v1/subjects')).json()) as Json).items as Json[];
      let shoes: Json | undefined;
      const deadline = Date.now() + 30_000;
      while (!(shoes = (await subjects()).find((s) => s.name === 'running shoes'))?.seedCount || shoes.seedCount < 4) {
        if (Date.now() > deadline) throw new Error(`running shoes never reached 4 seeds: ${JSON.stringify(shoes)}`);
        await new Promise((r) => setTimeout(r, 500));
      }
      for (const { segment, fits } of SEGMENTS.slice(0, 4)) {
        const c = (await (await call('/v1/conversations', { method: 'POST', json: { segment } })).json()) as Json;
        assert.ok(fits.includes(c.subject?.name), `${segment} → ${c.subject?.name}`);
      }
      const kayak = (await (await call('/v1/search', { method: 'POST', json: { text: 'kayak', k: 50, minScore: -1 } })).json()) as Json;
      assert.ok(!kayak.hits.some((h: Json) => h.path.endsWith('kayak-1.jpg')), 'an unlicensed seed is never returned');

      const victim = ((await (await call('/v1/search', { method: 'POST', json: { text: 'running shoes', k: 1 } })).json()) as Json).hits[0];
      assert.equal((await call(`/v1/assets/${victim.assetId}`, { method: 'DELETE' })).status, 200);
      const gone = Date.now() + 30_000;
      for (;;) {
        const hits = ((await (await call('/v1/search', { method: 'POST', json: { text: 'running shoes', k: 10 } })).json()) as Json).hits as Json[];
        const count = (await subjects()).find((s) => s.name === 'running shoes')?.seedCount;
        if (!hits.some((h) => h.assetId === victim.assetId) && count === 3) break;
        if (Date.now() > gone) throw new Error(`the deleted asset is still searchable or counted (${count} seeds)`);
        await new Promise((r) => setTimeout(r, 500));
      }

      // Vectors of an ingest requested before the deletion, delivered after it (a second ingest
      // of the upload, from the storage notification, can be that late): they must not bring the
      // asset back. Sent with another asset's vectors behind them on the same key, so the
      // partition is known to be handled up to the late one when the other is announced.
      const late = embedded.get(victim.assetId);
      const [markerId, marker] = [...embedded].find(([id]) => id !== victim.assetId) ?? [];
      assert.ok(late && markerId && marker, 'the watcher saw the asset.embedded events');
      const announcedBefore = changes.get(markerId)?.length ?? 0;
      const producer = new Kafka({ clientId: 'adseed-it', brokers: [INFRA.kafka], logLevel: logLevel.NOTHING }).producer();
      await producer.connect();
      try {
        await producer.send({
          topic: 'adseed.asset.embedded.v1',
          messages: [
            { key: victim.assetId, value: late },
            { key: victim.assetId, value: marker },
          ],
        });
      } finally {
        await producer.disconnect();
      }
      await until('the asset sent after the late vectors is indexed again', () => (changes.get(markerId)?.length ?? 0) > announcedBefore, 60_000);
      const after = ((await (await call('/v1/search', { method: 'POST', json: { text: 'running shoes', k: 10 } })).json()) as Json).hits as Json[];
      assert.ok(!after.some((h) => h.assetId === victim.assetId), 'the late vectors did not bring the deleted asset back into search');
      assert.equal((await call(`/v1/assets/${victim.assetId}`, { method: 'DELETE' })).status, 404, 'nor into the index');
    } finally {
      await consumer.disconnect();
    }
  });

  it('traces one conversation turn as ONE trace across processes: gateway → agent → retrieval → embedding', async () => {
    const c = (await (await api('/v1/conversations', { method: 'POST', json: { segment: 'cat lovers in small apartments' } })).json()) as Json;
    const traceId = randomUUID().replace(/-/g, '');
    const res = await api(`/v1/conversations/${c.id}/messages`, {
      method: 'POST',
      json: { text: 'yes' },
      headers: { traceparent: `00-${traceId}-${'ab'.repeat(8)}-01` },
    });
    assert.equal(((await res.json()) as Json).status, 'awaiting-seed');
    // The chain of parents from the embedding service's server span back to the root: spans of
    // each process arrive in that process's own export batches, so wait for the whole chain.
    const chainOf = (all: ReceivedSpan[]): string[] => {
      const turn = all.filter((x) => x.traceId === traceId);
      const byId = new Map(turn.map((x) => [x.spanId, x]));
      const services: string[] = [];
      // the text embedding is a gRPC query now: the embedding service's server span
      let span: ReceivedSpan | undefined = turn.find((x) => x.serviceName === 'embedding' && x.kind === 'server');
      for (; span; span = byId.get(span.parentSpanId)) services.push(span.serviceName);
      return [...new Set(services)];
    };
    const complete = (all: ReceivedSpan[]) =>
      chainOf(all).includes('gateway') && all.some((x) => x.traceId === traceId && x.serviceName === 'gateway' && x.kind === 'server');
    const spans = await receiver.waitFor(complete, 30_000).catch(() => receiver.spans);
    const turn = spans.filter((x) => x.traceId === traceId);
    const dump = turn.map((x) => `${x.serviceName}:${x.kind}:${x.name} ${x.spanId}<-${x.parentSpanId}`).join('\n');
    assert.deepEqual(chainOf(spans), ['embedding', 'retrieval', 'agent', 'gateway'], dump);
    assert.equal(new Set(turn.map((x) => x.traceId)).size, 1);
    assert.ok(turn.some((x) => x.serviceName === 'gateway' && x.kind === 'server'));
  });

  it('answers searches and conversation commands over gRPC (server metrics count them), health says SERVING, and Kafka gets no per-instance topic', async () => {
    const served = async (service: 'retrieval' | 'agent', method: string) => {
      const text = await (await fetch(`http://127.0.0.1:${cluster.portOf(service)}/metrics`)).text();
      const line = text
        .split('\n')
        .find((l) => l.startsWith('adseed_grpc_server_handled_total{') && l.includes(`method="${method}"`) && l.includes('code="OK"'));
      return line ? Number(line.split(' ').pop()) : 0;
    };
    const search = ['retrieval', '/adseed.retrieval.v1.Retrieval/Search'] as const;
    const converse = ['agent', '/adseed.agent.v1.Agent/Converse'] as const;
    const [searchesBefore, commandsBefore] = [await served(...search), await served(...converse)];
    const found = await api('/v1/search', { method: 'POST', json: { text: 'a dog on the grass' } });
    assert.equal(found.status, 200, await found.clone().text());
    const started = await api('/v1/conversations', { method: 'POST', json: { segment: 'cat lovers' } });
    assert.equal(started.status, 201, await started.clone().text());
    // the gateway's search is one gRPC call to retrieval; the conversation start is one to the agent (which searches too)
    assert.ok((await served(...search)) >= searchesBefore + 1, 'retrieval served the search over gRPC');
    assert.ok((await served(...converse)) >= commandsBefore + 1, 'the agent served the command over gRPC');
    // a 4xx from a service stays that 4xx through the gateway
    const missing = await api('/v1/conversations/00000000-0000-4000-8000-000000000000');
    assert.equal(missing.status, 404, await missing.clone().text());
    assert.equal(((await missing.json()) as Json).error.code, 'not_found');

    for (const service of ['embedding', 'retrieval', 'agent'] as const) {
      assert.equal(await grpcHealth(cluster.grpcPortOf(service), ''), 'SERVING', `${service} health`);
    }
    assert.equal(await grpcHealth(cluster.grpcPortOf('retrieval'), 'adseed.retrieval.v1.Retrieval'), 'SERVING');

    const created = (await listTopics()).filter((t) => !topicsBefore.has(t));
    assert.deepEqual(
      created.filter((t) => t.startsWith('adseed.reply.')),
      [],
      'no reply topic per instance',
    );
    assert.deepEqual(
      created.filter((t) => /(texts|search|asset|command|catalogue|generate)-requested/.test(t)),
      [],
      'no request/reply topic',
    );
  });

  it('returns the same ranking through the gateway as the embedded mode does for the same data', async () => {
    const library = mkdtempSync(join(tmpdir(), 'adseed-same-data-'));
    const lines = ['file,breed,species'];
    for (const row of rows) {
      mkdirSync(join(library, row.file.split('/')[0]), { recursive: true });
      cpSync(join(DEMO_LIBRARY, row.file), join(library, row.file));
      lines.push(`${row.file},${row.tags[0]},${row.tags[1] ?? ''}`);
    }
    writeFileSync(join(library, 'manifest.csv'), lines.join('\n'));
    const embedded = await startTestApp({ seedLibraryDir: library, ...models, env: { ADSEED_DEFAULT_TENANT: tenant } });
    try {
      await embedded.demoLibrary;
      await embedded.whenIdle();
      // Caption path: the same onnxruntime build on both sides, so the order must match exactly
      // (ties included: both indexes break them by ascending id). CLIP path: the cluster runs the
      // towers in Triton (Python onnxruntime), the embedded mode in Node's, so scores may differ in
      // the last digits; the order must match wherever neighbouring scores differ by more than that.
      const TOLERANCE = 1e-4;
      let largestDelta = 0;
      for (const text of ['a photo of a beagle', 'a fluffy white dog', 'a black cat', 'something red', 'a small terrier']) {
        for (const encoders of [['caption'], ['clip']]) {
          // minScore -1: the whole ranking, under the relevance floor too (the generated CLIP model's cosines are low)
          const body = { text, k: 5, encoders, minScore: -1 };
          const viaCluster = (await (await api('/v1/search', { method: 'POST', json: body })).json()) as Json;
          const viaEmbedded = (await (await embedded.api('/v1/search', { method: 'POST', json: body, tenant })).json()) as Json;
          const context = `${text} [${encoders.join(',')}]: cluster ${JSON.stringify(viaCluster.hits.map((h: Json) => [h.path.split('/').pop(), h.score]))} vs embedded ${JSON.stringify(viaEmbedded.hits.map((h: Json) => [h.path.split('/').pop(), h.score]))}`;
          assert.equal(viaCluster.hits.length, 5, context);
          if (encoders[0] === 'caption') {
            assert.deepEqual(
              viaCluster.hits.map((h: Json) => h.path),
              viaEmbedded.hits.map((h: Json) => h.path),
              context,
            );
            continue;
          }
          const expected = viaEmbedded.hits as Json[];
          viaCluster.hits.forEach((hit: Json, i: number) => {
            largestDelta = Math.max(largestDelta, Math.abs(hit.score - expected[i].score));
            assert.ok(Math.abs(hit.score - expected[i].score) < TOLERANCE, `score at rank ${i}: ${context}`);
            const tied = (j: number) => j >= 0 && j < expected.length && Math.abs(expected[j].score - expected[i].score) < TOLERANCE;
            if (!tied(i - 1) && !tied(i + 1)) assert.equal(hit.path, expected[i].path, `rank ${i}: ${context}`);
          });
        }
      }
      console.log(`# largest CLIP score difference, Triton vs in-process ONNX: ${largestDelta.toExponential(2)}`);
    } finally {
      await embedded.stop();
      rmSync(library, { recursive: true, force: true });
    }
  });
});
