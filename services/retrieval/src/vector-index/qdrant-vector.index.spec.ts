import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, rm, symlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  ASSET_ID_PAYLOAD_KEY,
  QdrantConnection,
  QdrantVectorIndex,
  QdrantVectorIndexError,
  aliasName,
  collectionName,
  dropIndex,
  pointIdOf,
  reindexInto,
  swapAlias,
  uuidV5,
} from './qdrant-vector.index';
import { describeVectorIndexContract, randomVector, rng, testId } from './vector-index.contract';
import { VectorIndexDimensions, VectorIndexInputError, VectorRecord } from './vector-index.port';
import { unusedPort } from '@adseed/testing';

/**
 * Runs the VectorIndex contract against Qdrant: a real server when QDRANT_URL is set, else the
 * test shim over qdrant-edge-py (Qdrant's engine embedded, behind a subset of its REST API),
 * started in its own cache dir and port so it never touches a shim someone else is running.
 */
const execFileAsync = promisify(execFile);
const REPO_ROOT = resolve(__dirname, '../../../..');
const SHIM_SCRIPT = join(REPO_ROOT, 'scripts/infra/qdrant-shim.sh');
const SHIM_CACHE = join(REPO_ROOT, '.cache/retrieval-qdrant-spec');
const realServer = process.env.QDRANT_URL;
const BACKEND = realServer ? `a real Qdrant at ${realServer}` : 'the qdrant-edge shim — no Qdrant server can run here';
/** Small vectors keep 600-point batches fast over JSON; the shape (named, cosine) is what matters. */
const DIMS: VectorIndexDimensions = { clip: 64, caption: 48 };
/** First run may pip-install qdrant-edge-py into the shared infra venv. */
const SHIM_START_TIMEOUT_MS = 300_000;

let connection: QdrantConnection | undefined;
let shimEnv: NodeJS.ProcessEnv | undefined;
let prefixes = 0;
const uniquePrefix = (): string => `spec-${process.pid}-${++prefixes}`;

function conn(): QdrantConnection {
  assert.ok(connection, 'the Qdrant backend did not start (see the before hook error)');
  return connection;
}

async function runShimScript(command: 'install' | 'start' | 'stop', env: NodeJS.ProcessEnv, timeout: number): Promise<void> {
  try {
    await execFileAsync('bash', [SHIM_SCRIPT, command], { env, timeout, killSignal: 'SIGKILL' });
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(`scripts/infra/qdrant-shim.sh ${command} failed: ${(error as Error).message}\n${stderr ?? ''}`);
  }
}

before(
  async () => {
    if (realServer) {
      connection = { url: realServer, apiKey: process.env.QDRANT_API_KEY, timeoutMs: 30_000 };
      return;
    }
    // The shared venv is installed once through the default cache; our own cache dir links to it.
    await runShimScript('install', process.env, SHIM_START_TIMEOUT_MS);
    const port = await unusedPort();
    shimEnv = { ...process.env, ADSEED_INFRA_CACHE: SHIM_CACHE, ADSEED_QDRANT_PORT: String(port) };
    // A shim left by a killed run: stop it by its recorded pid before wiping its directory.
    await runShimScript('stop', shimEnv, 30_000);
    await rm(SHIM_CACHE, { recursive: true, force: true });
    await mkdir(SHIM_CACHE, { recursive: true });
    await symlink(join(REPO_ROOT, '.cache/infra/venv'), join(SHIM_CACHE, 'venv'));
    await runShimScript('start', shimEnv, SHIM_START_TIMEOUT_MS);
    connection = { url: `http://127.0.0.1:${port}`, timeoutMs: 30_000 };
  },
  { timeout: SHIM_START_TIMEOUT_MS + 60_000 },
);

after(
  async () => {
    if (shimEnv) await runShimScript('stop', shimEnv, 30_000);
    if (!realServer) await rm(SHIM_CACHE, { recursive: true, force: true });
  },
  { timeout: 60_000 },
);

describe(`Qdrant adapter contract (against ${BACKEND})`, () => {
  describeVectorIndexContract('QdrantVectorIndex', async () => {
    const prefix = uniquePrefix();
    const index = await QdrantVectorIndex.open({ ...conn(), prefix, version: 'v1' });
    return { index, cleanup: () => dropIndex(conn(), prefix) };
  });

  describeVectorIndexContract(
    'QdrantVectorIndex (small dimensions)',
    async () => {
      const prefix = uniquePrefix();
      const index = await QdrantVectorIndex.open({ ...conn(), prefix, version: 'v1', dimensions: DIMS });
      return { index, cleanup: () => dropIndex(conn(), prefix) };
    },
    { dimensions: DIMS },
  );
});

describe(`QdrantVectorIndex beyond the contract (against ${BACKEND})`, () => {
  const record = (n: number, id: string, tags: string[] = []): VectorRecord => ({
    id,
    vectors: { clip: randomVector(DIMS.clip, rng(n)) },
    payload: { tenant: 't1', kind: 'seed', path: `p/${n}.jpg`, tags, indexedAt: '2025-01-01T00:00:00.000Z' },
  });
  const idsFound = async (index: QdrantVectorIndex, probe: VectorRecord): Promise<string[]> =>
    (await index.search({ using: 'clip', vector: probe.vectors.clip as Float32Array, filter: { tenant: 't1' }, limit: 10 })).map((h) => h.id);

  it('swaps the alias to a reindexed collection under a running index, and back', async () => {
    const prefix = uniquePrefix();
    const options = { ...conn(), prefix, dimensions: DIMS };
    const live = await QdrantVectorIndex.open({ ...options, version: 'v1' });
    try {
      assert.equal(live.collection, collectionName(prefix, 'v1'));
      const old = record(1, 'seeds/old.jpg');
      const fresh = record(2, 'seeds/fresh.jpg');
      await live.upsert([old]);

      const result = await reindexInto({ ...options, version: 'v2' }, async (staging) => {
        await staging.upsert([fresh]);
        assert.equal(await staging.count(), 1, 'the staging collection holds what fill wrote');
        assert.deepEqual(await idsFound(live, old), [old.id], 'the alias keeps serving the old collection during the fill');
      });
      assert.deepEqual(result, { collection: collectionName(prefix, 'v2'), previous: collectionName(prefix, 'v1') });
      assert.deepEqual(await idsFound(live, fresh), [fresh.id], 'the running index follows the alias to v2');
      assert.equal(await live.get(old.id), undefined);
      assert.equal(
        (await QdrantVectorIndex.open({ ...options, version: 'v1' })).collection,
        collectionName(prefix, 'v2'),
        'a new instance opens whatever the alias serves, whatever version it was configured with',
      );

      // v1 was kept, so a rollback is one alias swap.
      assert.deepEqual(await swapAlias(conn(), aliasName(prefix), collectionName(prefix, 'v1')), { previous: collectionName(prefix, 'v2') });
      assert.deepEqual(await idsFound(live, old), [old.id]);

      await assert.rejects(
        reindexInto({ ...options, version: 'v1' }, async () => undefined),
        /already serves/,
      );
      const dropping = await reindexInto({ ...options, version: 'v3' }, (staging) => staging.upsert([fresh]), { dropPrevious: true });
      assert.equal(dropping.dropped, collectionName(prefix, 'v1'));
      await assert.rejects(
        swapAlias(conn(), aliasName(prefix), collectionName(prefix, 'v1')),
        (error: unknown) => error instanceof QdrantVectorIndexError && /v1: it does not exist/.test(error.message),
      );
      assert.deepEqual(await idsFound(live, fresh), [fresh.id], 'a failed swap leaves the alias where it was');
    } finally {
      await live.close();
      await dropIndex(conn(), prefix);
    }
  });

  it('keys points by a UUIDv5 of any asset id and hides the id field it stores', async () => {
    // RFC 4122 appendix vector: v5 of "www.example.com" in the DNS namespace.
    assert.equal(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8'), '2ed6657d-e927-568b-95e1-2665a8aea6a2');
    assert.equal(pointIdOf('a'), pointIdOf('a'));
    assert.notEqual(pointIdOf('a'), pointIdOf('b'));
    assert.notEqual(pointIdOf(testId(1)), testId(1), 'even UUID-shaped asset ids are hashed, so every id takes one path');

    const prefix = uniquePrefix();
    const index = await QdrantVectorIndex.open({ ...conn(), prefix, dimensions: DIMS });
    try {
      const r = record(3, 'tenant 1/seeds/ünïcode beach.jpg', ['x']);
      await index.upsert([r]);
      const stored = await index.get(r.id);
      assert.deepEqual(stored?.payload, r.payload, `the ${ASSET_ID_PAYLOAD_KEY} field does not leak into payloads`);
      assert.deepEqual(await idsFound(index, r), [r.id]);
      await assert.rejects(
        index.upsert([{ ...r, payload: { ...r.payload, [ASSET_ID_PAYLOAD_KEY]: 'x' } }]),
        (error: unknown) => error instanceof VectorIndexInputError && error.message.includes(ASSET_ID_PAYLOAD_KEY),
      );
      await index.delete([r.id]);
      assert.equal(await index.count(), 0);
    } finally {
      await index.close();
      await dropIndex(conn(), prefix);
    }
  });

  it('refuses to open a collection whose vector sizes differ, naming both sizes', async () => {
    const prefix = uniquePrefix();
    const index = await QdrantVectorIndex.open({ ...conn(), prefix, dimensions: DIMS });
    try {
      await assert.rejects(
        QdrantVectorIndex.open({ ...conn(), prefix, dimensions: { clip: DIMS.clip + 1, caption: DIMS.caption } }),
        (error: unknown) =>
          error instanceof QdrantVectorIndexError && error.message.includes(`size ${DIMS.clip} `) && error.message.includes(`size ${DIMS.clip + 1}`),
      );
    } finally {
      await index.close();
      await dropIndex(conn(), prefix);
    }
  });

  it('reports an unreachable server with the operation that failed', async () => {
    const port = await unusedPort();
    await assert.rejects(
      QdrantVectorIndex.open({ url: `http://127.0.0.1:${port}`, timeoutMs: 2_000 }),
      (error: unknown) => error instanceof QdrantVectorIndexError && /Qdrant list aliases failed/.test(error.message),
    );
  });
});
