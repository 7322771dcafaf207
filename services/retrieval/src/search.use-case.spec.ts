import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '@adseed/config';
import { Queries, type EmbedTextsRequest, type QueryDef } from '@adseed/contracts';
import type { QueryClient } from '@adseed/platform';
import { RetrievalEnv } from './retrieval.env';
import { SearchUseCase } from './search.use-case';
import { EmbeddedVectorIndex } from './vector-index/embedded-vector.index';
import type { VectorQuery, VectorRecord } from './vector-index/vector-index.port';

const MODEL = { id: 'toy', version: '1' };
const NOW = new Date('2026-05-06T07:08:09Z');
const FLOOR = 0.5;

/** The embedding service through the query port: every text is the unit vector [1, 0] for each encoder asked, so a seed at angle θ scores cos θ. */
const embedding: QueryClient = {
  async call<Req, Res>(query: QueryDef<Req, Res>, request: Req): Promise<Res> {
    assert.equal(query.method, Queries.embedTexts.method);
    const { texts, encoders } = request as EmbedTextsRequest;
    const reply: Record<string, unknown> = { models: {} };
    for (const name of encoders) {
      reply[name] = texts.map(() => [1, 0]);
      (reply.models as Record<string, unknown>)[name] = MODEL;
    }
    return reply as Res;
  },
  async close() {},
};

/** A seed whose two vectors both score `score` against the query; `licence: 'none'` makes it unusable. */
const seed = (tenant: string, n: number, score: number, licence?: string, model = `${MODEL.id}@${MODEL.version}`): VectorRecord => {
  const vector = Float32Array.of(score, Math.sqrt(1 - score * score));
  return {
    id: `${tenant}-${n}`,
    vectors: { clip: vector, caption: vector },
    payload: {
      tenant,
      kind: 'seed',
      path: `seeds/${tenant}/${n}.jpg`,
      tags: [],
      indexedAt: NOW.toISOString(),
      clipModel: model,
      captionModel: model,
      ...(licence ? { rights: { licence } } : {}),
    },
  };
};

describe(SearchUseCase.name, () => {
  let dir: string;
  let index: EmbeddedVectorIndex;
  let searches: VectorQuery[];
  let search: SearchUseCase;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'adseed-search-use-case-'));
    index = await EmbeddedVectorIndex.open({ dir, dimensions: { clip: 2, caption: 2 }, syncWrites: false });
    // "cut": one seed above the floor, 99 under it. "rights": 100 seeds above the floor, the 30 best unlicensed.
    await index.upsert([seed('cut', 0, 0.9), ...Array.from({ length: 99 }, (_, n) => seed('cut', n + 1, 0.3 - n * 0.002))]);
    await index.upsert(Array.from({ length: 100 }, (_, n) => seed('rights', n, 0.99 - n * 0.003, n < 30 ? 'none' : 'stock')));
    // "stale": the same, the 30 best embedded by an older model version
    await index.upsert(Array.from({ length: 100 }, (_, n) => seed('stale', n, 0.99 - n * 0.003, undefined, n < 30 ? 'toy@0' : undefined)));
    const recorded = index.search.bind(index);
    index.search = (query) => (searches.push(query), recorded(query));
    const config = loadConfig(RetrievalEnv, { ADSEED_FLOOR_CLIP: String(FLOOR), ADSEED_FLOOR_CAPTION: String(FLOOR) });
    search = new SearchUseCase(embedding, index, config, () => NOW);
  });
  after(async () => {
    await index.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('does not ask the index for more when the floor cut the page: deeper hits score lower still', async () => {
    searches = [];
    const reply = await search.execute({ tenant: 'cut', text: 'anything', k: 3, kind: 'seed', encoders: ['clip', 'caption'] });
    assert.deepEqual(
      reply.hits.map((h) => h.assetId),
      ['cut-0'],
      'the one seed above the floor',
    );
    assert.deepEqual(
      searches.map((q) => [q.using, q.limit]),
      [
        ['clip', 20],
        ['caption', 20],
      ],
      'one page per encoder: its last hit was already under the floor',
    );
  });

  for (const [tenant, dropped] of [
    ['rights', 'unlicensed'],
    ['stale', 'embedded by another model version'],
  ] as const) {
    it(`asks for more while hits dropped as ${dropped} leave the page short and deeper ones still clear the floor`, async () => {
      searches = [];
      const reply = await search.execute({ tenant, text: 'anything', k: 3, kind: 'seed', encoders: ['clip', 'caption'] });
      assert.deepEqual(
        reply.hits.map((h) => h.assetId),
        [`${tenant}-30`, `${tenant}-31`, `${tenant}-32`],
        'the best three usable seeds',
      );
      assert.deepEqual(
        searches.map((q) => q.limit),
        [20, 20, 80, 80],
        `the first page held only seeds ${dropped}, all above the floor: a second, larger one`,
      );
    });
  }

  it('with minScore, keeps every hit that reaches it instead of the floor, marked when under the floor', async () => {
    searches = [];
    const reply = await search.execute({ tenant: 'cut', text: 'anything', k: 40, kind: 'seed', encoders: ['clip'], minScore: 0.251 });
    // seeds 1…25 score 0.3 − (n − 1) × 0.002 ≥ 0.251
    assert.equal(reply.hits.length, 26);
    assert.deepEqual(
      reply.hits.map((h) => h.belowFloor),
      [false, ...Array<boolean>(25).fill(true)],
    );
    assert.deepEqual(
      searches.map((q) => q.limit),
      [200],
      'k × 5 candidates; fewer came back, so there is nothing deeper to ask for',
    );
  });
});
