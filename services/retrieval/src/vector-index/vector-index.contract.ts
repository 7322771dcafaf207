import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AssetKind,
  DEFAULT_VECTOR_DIMENSIONS,
  IndexedPayload,
  SearchFilter,
  VectorHit,
  VectorIndex,
  VectorIndexDimensions,
  VectorIndexInputError,
  VectorName,
  VectorRecord,
} from './vector-index.port';

export interface VectorIndexUnderTest {
  index: VectorIndex;
  cleanup(): Promise<void>;
}

export interface VectorIndexContractOptions {
  /** The dimensions the factory's index was opened with (default 512 / 384). */
  dimensions?: VectorIndexDimensions;
}

/** Score tolerance: adapters may compute cosine in float32. */
const SCORE_TOLERANCE = 1e-4;

/**
 * The behaviour every VectorIndex adapter must show. Each test gets a fresh, empty index from
 * `factory` and calls `cleanup` afterwards. Ids are UUID-shaped so that stores which only accept
 * UUIDs (Qdrant) can use them as they are.
 */
export function describeVectorIndexContract(name: string, factory: () => Promise<VectorIndexUnderTest>, options: VectorIndexContractOptions = {}): void {
  const dims = options.dimensions ?? DEFAULT_VECTOR_DIMENSIONS;
  const withIndex = (body: (index: VectorIndex) => Promise<void>) => async (): Promise<void> => {
    const { index, cleanup } = await factory();
    try {
      await body(index);
    } finally {
      await index.close();
      await cleanup();
    }
  };

  describe(`VectorIndex contract: ${name}`, () => {
    it(
      'starts empty',
      withIndex(async (index) => {
        assert.equal(await index.count(), 0);
        assert.equal(await index.get(testId(1)), undefined);
        assert.deepEqual(await index.search(clipQuery(randomVector(dims.clip, rng(1)), { tenant: 't1' }, 5)), []);
        await index.delete([testId(1)]); // unknown ids are ignored
        assert.equal(await index.count(), 0);
      }),
    );

    it(
      'stores normalised vectors and the payload as given',
      withIndex(async (index) => {
        const clip = randomVector(dims.clip, rng(2)).map((x) => x * 7);
        const payload = makePayload('t1', 'seed', ['beach', 'summer'], { caption: 'a beach', campaign: { id: 42 } });
        await index.upsert([{ id: testId(1), vectors: { clip }, payload }]);
        const stored = await index.get(testId(1));
        assert.ok(stored, 'the upserted record can be read back');
        assert.deepEqual(stored.payload, payload);
        assert.equal(stored.vectors.caption, undefined);
        const unit = stored.vectors.clip;
        assert.ok(unit instanceof Float32Array && unit.length === dims.clip);
        assertClose(norm(unit), 1, 'stored vector is unit length');
        assertClose(dot(unit, clip) / norm(clip), 1, 'stored vector keeps its direction');
      }),
    );

    it(
      'upserting the same record twice leaves one entry',
      withIndex(async (index) => {
        const record = makeRecord(1, 't1', 'seed', [], rng(3), dims, ['clip', 'caption']);
        await index.upsert([record]);
        await index.upsert([record]);
        await index.upsert([record, record]);
        assert.equal(await index.count(), 1);
        const hits = await index.search(clipQuery(record.vectors.clip as Float32Array, { tenant: 't1' }, 10));
        assert.deepEqual(
          hits.map((h) => h.id),
          [record.id],
        );
        assertClose(hits[0].score, 1, 'a vector matches itself with cosine 1');
      }),
    );

    it(
      'replaces a record: new payload, new vectors, dropped vectors',
      withIndex(async (index) => {
        const random = rng(4);
        const first = makeRecord(1, 't1', 'seed', ['old'], random, dims, ['clip', 'caption']);
        const second = makeRecord(1, 't1', 'brand', ['new'], random, dims, ['clip']);
        await index.upsert([first]);
        await index.upsert([second]);
        assert.equal(await index.count(), 1);
        const stored = await index.get(testId(1));
        assert.deepEqual(stored?.payload, second.payload);
        assert.equal(stored?.vectors.caption, undefined, 'vectors absent from the new version are removed');
        const byCaption = await index.search({ using: 'caption', vector: first.vectors.caption as Float32Array, filter: { tenant: 't1' }, limit: 5 });
        assert.deepEqual(byCaption, []);
        const byClip = await index.search(clipQuery(second.vectors.clip as Float32Array, { tenant: 't1' }, 5));
        assert.equal(byClip.length, 1);
        assertClose(byClip[0].score, 1, 'search sees the new vector');
        assert.deepEqual(byClip[0].payload, second.payload);
      }),
    );

    it(
      'deletes records and ignores unknown ids',
      withIndex(async (index) => {
        const random = rng(5);
        const records = [1, 2, 3].map((n) => makeRecord(n, 't1', 'seed', [], random, dims, ['clip']));
        await index.upsert(records);
        await index.delete([testId(2), testId(99)]);
        assert.equal(await index.count(), 2);
        assert.equal(await index.get(testId(2)), undefined);
        const hits = await index.search(clipQuery(records[1].vectors.clip as Float32Array, { tenant: 't1' }, 10));
        assert.deepEqual(hits.map((h) => h.id).sort(), [testId(1), testId(3)]);
        await index.upsert([records[1]]);
        assert.equal(await index.count(), 3, 'a deleted id can be inserted again');
      }),
    );

    it(
      'filters by tenant, kind and all tags, in search and count',
      withIndex(async (index) => {
        const random = rng(6);
        const records = [
          makeRecord(1, 't1', 'seed', ['a', 'b'], random, dims, ['clip']),
          makeRecord(2, 't1', 'seed', ['a'], random, dims, ['clip']),
          makeRecord(3, 't1', 'brand', ['a', 'b', 'c'], random, dims, ['clip']),
          makeRecord(4, 't2', 'seed', ['a', 'b'], random, dims, ['clip']),
        ];
        await index.upsert(records);
        const q = randomVector(dims.clip, random);
        const ids = async (filter: SearchFilter): Promise<string[]> => (await index.search(clipQuery(q, filter, 10))).map((h) => h.id).sort();
        assert.deepEqual(await ids({ tenant: 't1' }), [testId(1), testId(2), testId(3)]);
        assert.deepEqual(await ids({ tenant: 't2' }), [testId(4)]);
        assert.deepEqual(await ids({ tenant: 'nobody' }), []);
        assert.deepEqual(await ids({ tenant: 't1', kind: 'seed' }), [testId(1), testId(2)]);
        assert.deepEqual(await ids({ tenant: 't1', tagsAll: ['a', 'b'] }), [testId(1), testId(3)]);
        assert.deepEqual(await ids({ tenant: 't1', kind: 'seed', tagsAll: ['b'] }), [testId(1)]);
        assert.deepEqual(await ids({ tenant: 't1', tagsAll: [] }), [testId(1), testId(2), testId(3)]);
        assert.deepEqual(await ids({ tenant: 't1', tagsAll: ['a', 'missing'] }), []);
        assert.equal(await index.count({ tenant: 't1' }), 3);
        assert.equal(await index.count({ kind: 'seed' }), 3);
        assert.equal(await index.count({ tenant: 't1', tagsAll: ['c'] }), 1);
      }),
    );

    it(
      'finds the few records of a selective filter among many better ones',
      withIndex(async (index) => {
        const random = rng(7);
        const q = randomVector(dims.clip, random);
        const crowd: VectorRecord[] = [];
        for (let n = 0; n < 300; n++) {
          // Near-copies of the query in another tenant, and in this tenant under another kind.
          const clip = q.map((x) => x + 0.01 * (random() - 0.5));
          crowd.push({ id: testId(n), vectors: { clip }, payload: makePayload(n % 2 ? 'big' : 'small', n % 2 ? 'seed' : 'brand', []) });
        }
        const few = [1000, 1001].map((n) => makeRecord(n, 'small', 'seed', [], random, dims, ['clip']));
        await index.upsert([...crowd, ...few]);
        const hits = await index.search(clipQuery(q, { tenant: 'small', kind: 'seed' }, 3));
        assert.deepEqual(hits.map((h) => h.id).sort(), [testId(1000), testId(1001)]);
      }),
    );

    it(
      'ranks exactly like brute-force cosine on random data',
      withIndex(async (index) => {
        const random = rng(8);
        const records: VectorRecord[] = [];
        for (let n = 0; n < 600; n++) {
          const has: VectorName[] = n % 5 === 0 ? ['caption'] : n % 3 === 0 ? ['clip'] : ['clip', 'caption'];
          const tags = ['a', 'b', 'c'].filter(() => random() < 0.5);
          records.push(makeRecord(n, n % 4 === 0 ? 't2' : 't1', (['seed', 'brand', 'ad'] as const)[n % 3], tags, random, dims, has));
        }
        for (let i = 0; i < records.length; i += 100) await index.upsert(records.slice(i, i + 100));
        const cases: { using: VectorName; filter: SearchFilter; limit: number }[] = [
          { using: 'clip', filter: { tenant: 't1' }, limit: 3 },
          { using: 'clip', filter: { tenant: 't1' }, limit: 25 },
          { using: 'clip', filter: { tenant: 't2', kind: 'seed' }, limit: 5 },
          { using: 'caption', filter: { tenant: 't1', tagsAll: ['a'] }, limit: 10 },
          { using: 'caption', filter: { tenant: 't1', kind: 'ad', tagsAll: ['b', 'c'] }, limit: 4 },
        ];
        for (const c of cases) {
          for (let k = 0; k < 4; k++) {
            // Queries near a stored vector give close competitors, not only random-level scores.
            const near = records[Math.floor(random() * records.length)].vectors[c.using];
            const vector = near && k % 2 === 0 ? near.map((x) => x + 0.05 * (random() - 0.5)) : randomVector(dims[c.using], random);
            const hits = await index.search({ using: c.using, vector, filter: c.filter, limit: c.limit });
            assertSameRanking(hits, bruteForce(records, c.using, vector, c.filter, c.limit), JSON.stringify(c));
          }
        }
      }),
    );

    it(
      'breaks exact score ties by ascending id, also across the limit',
      withIndex(async (index) => {
        // Photos that share one caption have identical caption vectors: every adapter must rank
        // them the same way, or the same data ranks differently on different deployments.
        const random = rng(21);
        const shared = randomVector(dims.caption, random);
        const ids = [7, 3, 12, 5, 9, 1, 30, 18, 4, 25, 2, 11];
        const twins = ids.map((n) => ({
          id: testId(n),
          vectors: { caption: shared },
          payload: { tenant: 't1', kind: 'seed' as const, path: `seeds/t1/${n}.jpg`, tags: [], indexedAt: '2026-01-01T00:00:00.000Z' },
        }));
        await index.upsert([...twins, makeRecord(99, 't1', 'seed', [], random, dims, ['caption'])]);
        const hits = await index.search({ using: 'caption', vector: shared, filter: { tenant: 't1' }, limit: 4 });
        assert.deepEqual(
          hits.map((h) => h.id),
          [...twins.map((t) => t.id)].sort().slice(0, 4),
        );
      }),
    );

    it(
      'only returns records that have the named vector',
      withIndex(async (index) => {
        const random = rng(9);
        const clipOnly = makeRecord(1, 't1', 'seed', [], random, dims, ['clip']);
        const captionOnly = makeRecord(2, 't1', 'seed', [], random, dims, ['caption']);
        const none = makeRecord(3, 't1', 'seed', [], random, dims, []);
        await index.upsert([clipOnly, captionOnly, none]);
        assert.equal(await index.count({ tenant: 't1' }), 3, 'records without vectors still count');
        const byClip = await index.search(clipQuery(randomVector(dims.clip, random), { tenant: 't1' }, 10));
        assert.deepEqual(
          byClip.map((h) => h.id),
          [testId(1)],
        );
        const byCaption = await index.search({ using: 'caption', vector: randomVector(dims.caption, random), filter: { tenant: 't1' }, limit: 10 });
        assert.deepEqual(
          byCaption.map((h) => h.id),
          [testId(2)],
        );
      }),
    );

    it(
      'rejects wrong dimensions, naming the vector and its size, and writes nothing',
      withIndex(async (index) => {
        const random = rng(10);
        const good = makeRecord(1, 't1', 'seed', [], random, dims, ['clip']);
        const bad: VectorRecord = { ...makeRecord(2, 't1', 'seed', [], random, dims, []), vectors: { clip: new Float32Array(dims.clip - 1).fill(0.1) } };
        await assert.rejects(index.upsert([good, bad]), inputError(['clip', String(dims.clip)]));
        assert.equal(await index.count(), 0, 'a rejected batch writes nothing');
        const badCaption: VectorRecord = { ...good, vectors: { caption: new Float32Array(dims.caption + 1).fill(0.1) } };
        await assert.rejects(index.upsert([badCaption]), inputError(['caption', String(dims.caption)]));
        await assert.rejects(index.search(clipQuery(new Float32Array(dims.clip + 3).fill(0.1), { tenant: 't1' }, 3)), inputError(['clip', String(dims.clip)]));
        await assert.rejects(index.upsert([{ ...good, vectors: { clip: new Float32Array(dims.clip) } }]), inputError(['zero']));
      }),
    );

    it(
      'honours limit and rejects a limit that is not a positive integer',
      withIndex(async (index) => {
        const random = rng(11);
        const records = [1, 2, 3, 4, 5].map((n) => makeRecord(n, 't1', 'seed', [], random, dims, ['clip']));
        await index.upsert(records);
        const q = randomVector(dims.clip, random);
        const all = await index.search(clipQuery(q, { tenant: 't1' }, 100));
        assert.equal(all.length, 5, 'a limit above the number of matches returns every match');
        for (let i = 1; i < all.length; i++) assert.ok(all[i - 1].score >= all[i].score, 'best first');
        const two = await index.search(clipQuery(q, { tenant: 't1' }, 2));
        assert.deepEqual(
          two.map((h) => h.id),
          all.slice(0, 2).map((h) => h.id),
        );
        for (const limit of [0, -1, 1.5]) {
          await assert.rejects(index.search(clipQuery(q, { tenant: 't1' }, limit)), inputError(['limit']));
        }
        await assert.rejects(index.search(clipQuery(q, { tenant: '' }, 3)), inputError(['tenant']));
      }),
    );
  });
}

// --- helpers ------------------------------------------------------------------------------------

/** Deterministic PRNG (mulberry32) so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random direction (Gaussian components, not normalised). */
export function randomVector(dimension: number, random: () => number): Float32Array {
  const v = new Float32Array(dimension);
  for (let i = 0; i < dimension; i++) {
    v[i] = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  }
  return v;
}

export function testId(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

function makePayload(tenant: string, kind: AssetKind, tags: string[], extra: Partial<IndexedPayload> = {}): IndexedPayload {
  return { tenant, kind, path: `${tenant}/${kind}/${tags.join('-') || 'untagged'}.jpg`, tags, indexedAt: '2025-01-01T00:00:00.000Z', ...extra };
}

function makeRecord(
  n: number,
  tenant: string,
  kind: AssetKind,
  tags: string[],
  random: () => number,
  dims: VectorIndexDimensions,
  has: VectorName[],
): VectorRecord {
  const vectors: Partial<Record<VectorName, Float32Array>> = {};
  for (const name of has) vectors[name] = randomVector(dims[name], random);
  return { id: testId(n), vectors, payload: makePayload(tenant, kind, tags) };
}

function clipQuery(vector: Float32Array, filter: SearchFilter, limit: number) {
  return { using: 'clip' as const, vector, filter, limit };
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function norm(a: Float32Array): number {
  return Math.sqrt(dot(a, a));
}

function bruteForce(records: VectorRecord[], using: VectorName, query: Float32Array, filter: SearchFilter, limit: number): { id: string; score: number }[] {
  return records
    .filter(
      (r) =>
        r.vectors[using] &&
        r.payload.tenant === filter.tenant &&
        (!filter.kind || r.payload.kind === filter.kind) &&
        (filter.tagsAll ?? []).every((t) => r.payload.tags.includes(t)),
    )
    .map((r) => {
      const v = r.vectors[using] as Float32Array;
      return { id: r.id, score: dot(v, query) / (norm(v) * norm(query)) };
    })
    .sort((a, b) => b.score - a.score)
    .slice(0, limit);
}

/** Same ids in the same order, except where neighbouring scores are too close to order reliably. */
function assertSameRanking(hits: VectorHit[], expected: { id: string; score: number }[], context: string): void {
  assert.equal(hits.length, expected.length, `${context}: number of hits`);
  for (let i = 0; i < hits.length; i++) {
    assertClose(hits[i].score, expected[i].score, `${context}: score of rank ${i}`);
    const tied = (j: number) => j >= 0 && j < expected.length && Math.abs(expected[j].score - expected[i].score) < SCORE_TOLERANCE;
    if (!tied(i - 1) && !tied(i + 1)) assert.equal(hits[i].id, expected[i].id, `${context}: id at rank ${i}`);
  }
}

function assertClose(actual: number, expected: number, message: string): void {
  assert.ok(Math.abs(actual - expected) < SCORE_TOLERANCE, `${message}: expected ${expected}, got ${actual}`);
}

function inputError(mustMention: string[]): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof VectorIndexInputError, `expected a VectorIndexInputError, got ${String(error)}`);
    for (const word of mustMention) assert.match(error.message, new RegExp(word, 'i'));
    return true;
  };
}
