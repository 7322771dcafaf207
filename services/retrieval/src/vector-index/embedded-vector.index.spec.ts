import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EmbeddedVectorIndex } from './embedded-vector.index';
import { describeVectorIndexContract, randomVector, rng, testId } from './vector-index.contract';
import { VectorIndexDimensions, VectorRecord } from './vector-index.port';

const tempDir = (): Promise<string> => mkdtemp(join(tmpdir(), 'adseed-vector-index-'));
/** Odd sizes exercise the zero padding of rows to whole kernel blocks. */
const SMALL: VectorIndexDimensions = { clip: 70, caption: 33 };

describeVectorIndexContract('EmbeddedVectorIndex', async () => {
  const dir = await tempDir();
  const index = await EmbeddedVectorIndex.open({ dir, syncWrites: false });
  return { index, cleanup: () => rm(dir, { recursive: true, force: true }) };
});

describeVectorIndexContract('EmbeddedVectorIndex (odd dimensions)', async () => {
  const dir = await tempDir();
  const index = await EmbeddedVectorIndex.open({ dir, dimensions: SMALL, syncWrites: false });
  return { index, cleanup: () => rm(dir, { recursive: true, force: true }) };
}, { dimensions: SMALL });

function records(from: number, to: number, seed: number): VectorRecord[] {
  const random = rng(seed);
  const out: VectorRecord[] = [];
  for (let n = from; n < to; n++) {
    out.push({
      id: testId(n),
      vectors: { clip: randomVector(SMALL.clip, random), ...(n % 2 ? { caption: randomVector(SMALL.caption, random) } : {}) },
      payload: { tenant: 't1', kind: 'seed', path: `p/${n}.jpg`, tags: [`n${n % 3}`], indexedAt: '2025-01-01T00:00:00Z' },
    });
  }
  return out;
}

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await tempDir();
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Everything observable about an index, for before/after comparisons. */
async function fingerprint(index: EmbeddedVectorIndex, ids: string[]): Promise<unknown> {
  const stored = await Promise.all(ids.map(async (id) => {
    const r = await index.get(id);
    return r && { id: r.id, payload: r.payload, clip: Array.from(r.vectors.clip ?? []), caption: Array.from(r.vectors.caption ?? []) };
  }));
  const query = randomVector(SMALL.clip, rng(99));
  const hits = await index.search({ using: 'clip', vector: query, filter: { tenant: 't1' }, limit: 7 });
  return { count: await index.count(), stored, hits };
}

describe(EmbeddedVectorIndex.name, () => {
  const ids = Array.from({ length: 60 }, (_, n) => testId(n));

  it('reloads upserts and deletes after reopening', () => withDir(async (dir) => {
    const first = await EmbeddedVectorIndex.open({ dir, dimensions: SMALL });
    await first.upsert(records(0, 40, 1));
    await first.upsert(records(30, 60, 2)); // replaces 30..39
    await first.delete([testId(5), testId(50)]);
    const before = await fingerprint(first, ids);
    await first.close();

    const second = await EmbeddedVectorIndex.open({ dir, dimensions: SMALL });
    assert.deepEqual(await fingerprint(second, ids), before);
    assert.equal(await second.count(), 58);
    assert.equal(second.recovery.discardedLogBytes, 0);
    await second.close();
  }));

  it('ignores a torn last record and keeps appending after it', () => withDir(async (dir) => {
    const first = await EmbeddedVectorIndex.open({ dir, dimensions: SMALL });
    await first.upsert(records(0, 10, 3));
    const intact = await fingerprint(first, ids);
    await first.upsert(records(10, 20, 4));
    await first.close();
    const log = join(dir, 'wal.log');
    const { size } = await stat(log);
    await truncate(log, size - 17); // a crash in the middle of writing the last frame

    const second = await EmbeddedVectorIndex.open({ dir, dimensions: SMALL });
    assert.ok(second.recovery.discardedLogBytes > 0);
    assert.deepEqual(await fingerprint(second, ids), intact);
    await second.upsert(records(20, 25, 5));
    await second.close();

    const third = await EmbeddedVectorIndex.open({ dir, dimensions: SMALL });
    assert.equal(third.recovery.discardedLogBytes, 0, 'the torn tail was cut, so new frames follow good ones');
    assert.equal(await third.count(), 15);
    await third.close();
  }));

  it('treats a last frame with a bad checksum or trailing garbage as torn', () => withDir(async (dir) => {
    const first = await EmbeddedVectorIndex.open({ dir, dimensions: SMALL });
    await first.upsert(records(0, 10, 6));
    await first.close();
    await appendFile(join(dir, 'wal.log'), Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 9, 9, 9]));
    const second = await EmbeddedVectorIndex.open({ dir, dimensions: SMALL });
    assert.equal(second.recovery.discardedLogBytes, 11);
    assert.equal(await second.count(), 10);
    await second.close();
  }));

  it('compacts into a snapshot and reloads the same state', () => withDir(async (dir) => {
    const first = await EmbeddedVectorIndex.open({ dir, dimensions: SMALL, compactionMinBytes: 4096 });
    for (let i = 0; i < 60; i += 6) await first.upsert(records(i, i + 6, 10 + i));
    await first.delete([testId(7)]);
    await first.upsert(records(8, 9, 77)); // replace after the automatic compactions
    const before = await fingerprint(first, ids);
    const logSize = (await stat(join(dir, 'wal.log'))).size;
    assert.ok((await stat(join(dir, 'snapshot.bin'))).size > logSize, 'most state lives in the snapshot');
    await first.compact();
    await first.close();
    assert.deepEqual((await readdir(dir)).sort(), ['snapshot.bin', 'wal.log']);

    const second = await EmbeddedVectorIndex.open({ dir, dimensions: SMALL });
    assert.equal(second.recovery.snapshotRecords, 59);
    assert.equal(second.recovery.logFrames, 0);
    assert.deepEqual(await fingerprint(second, ids), before);
    await second.close();
  }));

  it('recovers when a crash left a temporary snapshot behind', () => withDir(async (dir) => {
    const first = await EmbeddedVectorIndex.open({ dir, dimensions: SMALL });
    await first.upsert(records(0, 10, 20));
    await first.close();
    await writeFile(join(dir, 'snapshot.bin.tmp'), 'half-written');
    const second = await EmbeddedVectorIndex.open({ dir, dimensions: SMALL });
    assert.equal(await second.count(), 10);
    await second.close();
    assert.deepEqual((await readdir(dir)).sort(), ['wal.log']);
  }));

  it('refuses a damaged snapshot with an explanation', () => withDir(async (dir) => {
    const first = await EmbeddedVectorIndex.open({ dir, dimensions: SMALL });
    await first.upsert(records(0, 10, 21));
    await first.compact();
    await first.close();
    const snapshot = join(dir, 'snapshot.bin');
    await truncate(snapshot, (await stat(snapshot)).size - 3);
    await assert.rejects(EmbeddedVectorIndex.open({ dir, dimensions: SMALL }), /snapshot.*damaged/);
  }));

  it('refuses to open with other dimensions than stored, and adopts stored ones by default', () => withDir(async (dir) => {
    const first = await EmbeddedVectorIndex.open({ dir, dimensions: SMALL });
    await first.close();
    await assert.rejects(EmbeddedVectorIndex.open({ dir, dimensions: { clip: 512, caption: 384 } }), /clip=70.*clip=512/s);
    const second = await EmbeddedVectorIndex.open({ dir });
    assert.deepEqual(second.dimensions, SMALL);
    await second.close();
  }));

  it('rejects calls after close', () => withDir(async (dir) => {
    const index = await EmbeddedVectorIndex.open({ dir, dimensions: SMALL });
    await index.close();
    await assert.rejects(index.count(), /closed/);
  }));
});
