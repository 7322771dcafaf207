import assert from 'node:assert/strict';
import { appendFile, cp, mkdtemp, open, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EmbeddedVectorIndex } from './embedded-vector.index';
import { SNAPSHOT_MAGIC, SnapshotReader } from './index-snapshot';
import { encodeFrame, FrameKind } from './record-log';
import { describeVectorIndexContract, randomVector, rng, testId } from './vector-index.contract';
import { VectorIndexDimensions, VectorName, VectorRecord } from './vector-index.port';
import { normalise } from './vector-index.validation';

const tempDir = (): Promise<string> => mkdtemp(join(tmpdir(), 'adseed-vector-index-'));
/** Odd sizes exercise the zero padding of rows to whole kernel blocks. */
const SMALL: VectorIndexDimensions = { clip: 70, caption: 33 };

describeVectorIndexContract('EmbeddedVectorIndex', async () => {
  const dir = await tempDir();
  const index = await EmbeddedVectorIndex.open({ dir, syncWrites: false });
  return { index, cleanup: () => rm(dir, { recursive: true, force: true }) };
});

describeVectorIndexContract(
  'EmbeddedVectorIndex (odd dimensions)',
  async () => {
    const dir = await tempDir();
    const index = await EmbeddedVectorIndex.open({ dir, dimensions: SMALL, syncWrites: false });
    return { index, cleanup: () => rm(dir, { recursive: true, force: true }) };
  },
  { dimensions: SMALL },
);

/** An index directory written by the format-2 build (tsc does not copy it: read from the source tree). */
const FORMAT_2_FIXTURE = join(__dirname, '../../src/vector-index/fixtures/format-2');

/** The records of that fixture. */
function format2Records(from: number, to: number, seed: number): VectorRecord[] {
  const random = rng(seed);
  const out: VectorRecord[] = [];
  for (let n = from; n < to; n++) {
    const vectors: Partial<Record<VectorName, Float32Array>> = { clip: randomVector(SMALL.clip, random) };
    if (n % 2) vectors.caption = randomVector(SMALL.caption, random);
    out.push({
      id: testId(n),
      vectors,
      payload: { tenant: n % 4 ? 't1' : 't2', kind: n % 3 ? 'seed' : 'brand', path: `p/${n}.jpg`, tags: [`n${n % 3}`], indexedAt: '2025-01-01T00:00:00Z' },
    });
  }
  return out;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0,
    na = 0,
    nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

/** Flips one byte of `section` in the snapshot of `dir`. */
async function corruptSection(dir: string, section: string, at = 0): Promise<void> {
  const path = join(dir, 'snapshot.bin');
  const reader = await SnapshotReader.open(path);
  assert.ok(reader instanceof SnapshotReader);
  const { offset } = reader.section(section);
  await reader.close();
  const file = await open(path, 'r+');
  const byte = Buffer.alloc(1);
  await file.read(byte, 0, 1, offset + at);
  byte[0] ^= 0x40;
  await file.write(byte, 0, 1, offset + at);
  await file.close();
}

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
  const stored = await Promise.all(
    ids.map(async (id) => {
      const r = await index.get(id);
      return r && { id: r.id, payload: r.payload, clip: Array.from(r.vectors.clip ?? []), caption: Array.from(r.vectors.caption ?? []) };
    }),
  );
  const query = randomVector(SMALL.clip, rng(99));
  const hits = await index.search({ using: 'clip', vector: query, filter: { tenant: 't1' }, limit: 7 });
  // The same work for the same query: codes loaded from a snapshot or log equal fresh ones.
  const work = { ...index.lastSearchStats('clip') };
  return { count: await index.count(), stored, hits, work };
}

describe(EmbeddedVectorIndex.name, () => {
  const ids = Array.from({ length: 60 }, (_, n) => testId(n));

  it('reloads upserts and deletes after reopening', () =>
    withDir(async (dir) => {
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

  it('ignores a torn last record and keeps appending after it', () =>
    withDir(async (dir) => {
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

  it('treats a last frame with a bad checksum or trailing garbage as torn', () =>
    withDir(async (dir) => {
      const first = await EmbeddedVectorIndex.open({ dir, dimensions: SMALL });
      await first.upsert(records(0, 10, 6));
      await first.close();
      await appendFile(join(dir, 'wal.log'), Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 9, 9, 9]));
      const second = await EmbeddedVectorIndex.open({ dir, dimensions: SMALL });
      assert.equal(second.recovery.discardedLogBytes, 11);
      assert.equal(await second.count(), 10);
      await second.close();
    }));

  it('group commit: mutations issued together share one write and one fdatasync, and each resolves only once synced', () =>
    withDir(async (dir) => {
      // Watch the index's file calls (the real ones, on the real disk): which ids each write
      // carried, and when each fdatasync ended.
      const probe = await open(join(dir, 'probe'), 'w');
      const handleProto = Object.getPrototypeOf(probe) as { write: (...a: unknown[]) => Promise<unknown>; datasync: () => Promise<void> };
      await probe.close();
      const { write, datasync } = handleProto;
      const events: { what: 'write' | 'synced' | 'resolved'; ids: string[] }[] = [];
      const idsIn = (data: unknown) => (Buffer.isBuffer(data) ? ids.filter((id) => data.includes(`"${id}"`)) : []);
      handleProto.write = async function (this: unknown, ...args: unknown[]) {
        const result = await write.apply(this, args);
        events.push({ what: 'write', ids: idsIn(args[0]) });
        return result;
      };
      handleProto.datasync = async function (this: unknown) {
        await datasync.apply(this);
        events.push({ what: 'synced', ids: [] });
      };
      const first = await EmbeddedVectorIndex.open({ dir, dimensions: SMALL });
      try {
        const batch = records(0, 12, 30);
        const mutations = [
          ...batch.map((record) => first.upsert([record]).then(() => events.push({ what: 'resolved', ids: [record.id] }))),
          first.delete([testId(3)]).then(() => events.push({ what: 'resolved', ids: ['delete'] })),
        ];
        await Promise.all(mutations);
      } finally {
        handleProto.write = write;
        handleProto.datasync = datasync;
      }
      const syncs = events.filter((e) => e.what === 'synced').length;
      assert.ok(syncs >= 1 && syncs < 13, `13 mutations at once took ${syncs} fdatasyncs`);
      for (const [at, event] of events.entries()) {
        if (event.what !== 'resolved' || event.ids[0] === 'delete') continue;
        const writtenAt = events.findIndex((e) => e.what === 'write' && e.ids.includes(event.ids[0]));
        assert.ok(writtenAt >= 0 && writtenAt < at, `${event.ids[0]} resolved before it was written`);
        const syncedAt = events.findIndex((e, i) => i > writtenAt && e.what === 'synced');
        assert.ok(syncedAt > writtenAt && syncedAt < at, `${event.ids[0]} resolved before its write was synced`);
      }
      // A crash now (no close): a copy of the directory as it is holds every mutation, in order.
      const crashed = `${dir}-crashed`;
      await cp(dir, crashed, { recursive: true });
      const before = await fingerprint(first, ids);
      await first.close();
      try {
        const second = await EmbeddedVectorIndex.open({ dir: crashed, dimensions: SMALL });
        assert.equal(await second.count(), 11);
        assert.equal(await second.get(testId(3)), undefined);
        assert.deepEqual(await fingerprint(second, ids), before);
        await second.close();
      } finally {
        await rm(crashed, { recursive: true, force: true });
      }
    }));

  it('compacts into a snapshot and reloads the same state', () =>
    withDir(async (dir) => {
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

  it('compacts once the log passes compactionMaxBytes, even while it is smaller than the snapshot', () =>
    withDir(async (dir) => {
      const options = { dir, dimensions: SMALL, compactionMinBytes: 1024, compactionMaxBytes: 8192 };
      const first = await EmbeddedVectorIndex.open(options);
      await first.upsert(records(0, 60, 40));
      assert.ok((await stat(join(dir, 'snapshot.bin'))).size > 3 * 8192, 'the snapshot is much larger than the cap');
      for (let n = 0; n < 30; n++) await first.upsert(records(n, n + 1, 50 + n));
      assert.ok((await stat(join(dir, 'wal.log'))).size <= 8192 + 4096, 'the log stays near the cap');
      const before = await fingerprint(first, ids);
      await first.close();
      const second = await EmbeddedVectorIndex.open(options);
      assert.ok(second.recovery.logFrames < 30, `replayed ${second.recovery.logFrames} frames`);
      assert.deepEqual(await fingerprint(second, ids), before);
      await second.close();
    }));

  it('recovers when a crash left a temporary snapshot behind', () =>
    withDir(async (dir) => {
      const first = await EmbeddedVectorIndex.open({ dir, dimensions: SMALL });
      await first.upsert(records(0, 10, 20));
      await first.close();
      await writeFile(join(dir, 'snapshot.bin.tmp'), 'half-written');
      const second = await EmbeddedVectorIndex.open({ dir, dimensions: SMALL });
      assert.equal(await second.count(), 10);
      await second.close();
      assert.deepEqual((await readdir(dir)).sort(), ['wal.log']);
    }));

  it('refuses a damaged snapshot with an explanation', () =>
    withDir(async (dir) => {
      const first = await EmbeddedVectorIndex.open({ dir, dimensions: SMALL });
      await first.upsert(records(0, 10, 21));
      await first.compact();
      await first.close();
      const snapshot = join(dir, 'snapshot.bin');
      await truncate(snapshot, (await stat(snapshot)).size - 3);
      await assert.rejects(EmbeddedVectorIndex.open({ dir, dimensions: SMALL }), /snapshot.*damaged/);
    }));

  it('refuses to open with other dimensions than stored, and adopts stored ones by default', () =>
    withDir(async (dir) => {
      const first = await EmbeddedVectorIndex.open({ dir, dimensions: SMALL });
      await first.close();
      await assert.rejects(EmbeddedVectorIndex.open({ dir, dimensions: { clip: 512, caption: 384 } }), /clip=70.*clip=512/s);
      const second = await EmbeddedVectorIndex.open({ dir });
      assert.deepEqual(second.dimensions, SMALL);
      await second.close();
    }));

  it('keeps payloads, kinds and tags across a snapshot and the log written after it', () =>
    withDir(async (dir) => {
      const tagged = (n: number, kind: 'seed' | 'brand', tags: string[], tenant = 't1'): VectorRecord => ({
        id: testId(n),
        vectors: { caption: randomVector(SMALL.caption, rng(n)) },
        payload: { tenant, kind, path: `p/${n}.jpg`, tags, indexedAt: '2025-01-01T00:00:00Z', caption: `é ${n} 🐕`, extra: { n } },
      });
      const first = await EmbeddedVectorIndex.open({ dir, dimensions: SMALL });
      await first.upsert([tagged(1, 'seed', ['a', 'b']), tagged(2, 'brand', ['b']), tagged(3, 'seed', ['a'], 't2')]);
      await first.compact();
      await first.upsert([tagged(4, 'seed', ['b', 'c']), tagged(2, 'seed', ['a', 'c'])]);
      await first.delete([testId(1)]);
      await first.close();

      const second = await EmbeddedVectorIndex.open({ dir });
      assert.equal(second.recovery.snapshotRecords, 3);
      assert.equal(second.recovery.logFrames, 2);
      assert.deepEqual((await second.get(testId(2)))?.payload, tagged(2, 'seed', ['a', 'c']).payload);
      assert.equal(await second.count({ tenant: 't1', kind: 'seed' }), 2);
      assert.equal(await second.count({ tagsAll: ['a'] }), 2);
      assert.equal(await second.count({ tagsAll: ['c', 'b'] }), 1);
      assert.equal(await second.count({ tagsAll: ['never-used'] }), 0);
      const hits = await second.search({ using: 'caption', vector: randomVector(SMALL.caption, rng(4)), filter: { tenant: 't1', tagsAll: ['c'] }, limit: 5 });
      assert.deepEqual(hits.map((h) => h.id).sort(), [testId(2), testId(4)]);
      assert.deepEqual(hits.find((h) => h.id === testId(4))?.payload, tagged(4, 'seed', ['b', 'c']).payload);
      await second.close();
    }));

  it('keeps full-precision vectors out of memory: the snapshot holds them, and a damaged one is reported when read', () =>
    withDir(async (dir) => {
      const first = await EmbeddedVectorIndex.open({ dir, dimensions: SMALL });
      const all = records(0, 20, 30);
      await first.upsert(all);
      await first.compact();
      await first.close();
      // Row 0 of the clip column is record 0's vector; damage its 3rd float.
      await corruptSection(dir, 'clip.floats', 8);

      const second = await EmbeddedVectorIndex.open({ dir });
      assert.equal(await second.count(), 20, 'start-up does not read the full-precision rows');
      assert.ok((await second.get(testId(1)))?.vectors.clip, 'other rows are intact');
      await assert.rejects(second.get(testId(0)), /damaged.*checksum/);
      await assert.rejects(second.search({ using: 'clip', vector: all[0].vectors.clip as Float32Array, filter: { tenant: 't1' }, limit: 1 }), /damaged/);
      await assert.rejects(second.compact(), /damaged/, 'a compaction never copies a damaged row into a new snapshot');
      await second.close();
      assert.deepEqual((await readdir(dir)).sort(), ['snapshot.bin', 'wal.log'], 'the failed compaction left no temporary file');
    }));

  it('refuses a snapshot whose record or code sections fail their checksum', () =>
    withDir(async (dir) => {
      const first = await EmbeddedVectorIndex.open({ dir, dimensions: SMALL });
      await first.upsert(records(0, 10, 31));
      await first.compact();
      await first.close();
      await corruptSection(dir, 'records.payloads', 5);
      await assert.rejects(EmbeddedVectorIndex.open({ dir }), /snapshot.*damaged.*records\.payloads.*checksum/);
    }));

  it('reads a snapshot of the first format (a log of frames) and rewrites it in the current one', () =>
    withDir(async (dir) => {
      const old = records(0, 12, 32);
      const frame = (kind: FrameKind, header: unknown, floats: Float32Array[] = []): Buffer => encodeFrame(kind, header, floats);
      const upsert = (batch: VectorRecord[]): Buffer =>
        frame(
          FrameKind.Upsert,
          { records: batch.map((r) => ({ id: r.id, payload: r.payload, vectors: (['clip', 'caption'] as const).filter((n) => r.vectors[n]) })) },
          batch.flatMap((r) => (['clip', 'caption'] as const).flatMap((n) => (r.vectors[n] ? [unit(r.vectors[n])] : []))),
        );
      const header = frame(FrameKind.Header, { format: 1, dimensions: SMALL });
      await writeFile(
        join(dir, 'snapshot.bin'),
        Buffer.concat([header, upsert(old.slice(0, 6)), upsert(old.slice(6)), frame(FrameKind.SnapshotEnd, { records: 12 })]),
      );
      await writeFile(join(dir, 'wal.log'), Buffer.concat([header, frame(FrameKind.Delete, { ids: [testId(3)] })]));

      const first = await EmbeddedVectorIndex.open({ dir });
      assert.deepEqual(first.dimensions, SMALL);
      assert.equal(await first.count(), 11);
      const stored = await first.get(testId(7));
      assert.deepEqual(stored?.payload, old[7].payload);
      assert.deepEqual(stored?.vectors.caption, unit(old[7].vectors.caption as Float32Array));
      const before = await fingerprint(first, ids);
      await first.close();
      assert.ok((await readFile(join(dir, 'snapshot.bin'))).subarray(0, SNAPSHOT_MAGIC.length).equals(SNAPSHOT_MAGIC));

      const second = await EmbeddedVectorIndex.open({ dir });
      assert.equal(second.recovery.snapshotRecords, 11);
      assert.deepEqual(await fingerprint(second, ids), before);
      await second.close();
    }));

  it('reads a snapshot of format 2 (int8 planes and scalars kept apart) and its log, and rewrites it', () =>
    withDir(async (dir) => {
      // Written by the format-2 build (commit 54ff182): the records below, ids 5 and 10 deleted,
      // a compaction after id 23, ids 24..29 in the log.
      await cp(FORMAT_2_FIXTURE, dir, { recursive: true });
      const expected = [...format2Records(0, 24, 7), ...format2Records(24, 30, 8)].filter((r) => r.id !== testId(5) && r.id !== testId(10));
      const check = async (index: EmbeddedVectorIndex): Promise<void> => {
        assert.equal(await index.count(), expected.length);
        for (const record of expected) {
          const stored = await index.get(record.id);
          assert.deepEqual(stored?.payload, record.payload);
          for (const name of ['clip', 'caption'] as const) {
            const given = record.vectors[name];
            assert.deepEqual(stored?.vectors[name], given && normalise(given, name, SMALL[name], name));
          }
        }
        // Queries near stored vectors with a large limit send rows through the int8 stage, so codes
        // read wrongly from the old layout would drop true hits.
        const random = rng(11);
        let int8Rows = 0;
        for (const [k, record] of expected.entries()) {
          for (const using of ['clip', 'caption'] as const) {
            const near = record.vectors[using];
            if (!near) continue;
            const query = near.map((x) => x + 0.3 * (random() - 0.5));
            const filter = { tenant: k % 2 ? 't1' : record.payload.tenant };
            const hits = await index.search({ using, vector: query, filter, limit: 8 });
            int8Rows += index.lastSearchStats(using).secondStage;
            const brute = expected
              .filter((r) => r.vectors[using] && r.payload.tenant === filter.tenant)
              .map((r) => ({ id: r.id, score: cosine(r.vectors[using] as Float32Array, query) }))
              .sort((a, b) => b.score - a.score)
              .slice(0, 8);
            assert.deepEqual(
              hits.map((h) => h.id),
              brute.map((b) => b.id),
              `${using} near ${record.id}`,
            );
          }
        }
        assert.ok(int8Rows > 0, 'some rows went through the int8 stage');
      };
      const first = await EmbeddedVectorIndex.open({ dir });
      assert.equal(first.recovery.snapshotRecords, 23);
      assert.equal(first.recovery.logFrames, 2);
      await check(first);
      await first.compact();
      await first.close();
      const second = await EmbeddedVectorIndex.open({ dir });
      assert.equal(second.recovery.snapshotRecords, expected.length, 'the compaction wrote the current format');
      await check(second);
      await second.close();
    }));

  it('rejects calls after close', () =>
    withDir(async (dir) => {
      const index = await EmbeddedVectorIndex.open({ dir, dimensions: SMALL });
      await index.close();
      await assert.rejects(index.count(), /closed/);
    }));
});

function unit(v: Float32Array): Float32Array {
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}
