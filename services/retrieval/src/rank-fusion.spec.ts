import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fuseRankings } from './rank-fusion';
import type { VectorHit } from './vector-index/vector-index.port';

const hit = (id: string, score: number): VectorHit => ({
  id,
  score,
  payload: { tenant: 't', kind: 'seed', path: `seeds/t/${id}.jpg`, tags: [], indexedAt: '' },
});

describe(fuseRankings.name, () => {
  it('rewards items that both encoders rank high, and reports each cosine', () => {
    const { hits, fusion } = fuseRankings(
      { clip: [hit('a', 0.3), hit('b', 0.29), hit('c', 0.2)], caption: [hit('b', 0.8), hit('c', 0.7), hit('a', 0.1)] },
      60,
      2,
    );
    assert.deepEqual(
      hits.map((h) => h.id),
      ['b', 'a'],
    );
    assert.deepEqual(hits[0].scores, { clip: 0.29, caption: 0.8 });
    assert.match(fusion, /^rrf\(k=60\)/);
  });
  it('uses the cosine itself when only one encoder answered', () => {
    const { hits, fusion } = fuseRankings({ caption: [hit('x', 0.9), hit('y', 0.5)] }, 60, 3);
    assert.deepEqual(
      hits.map((h) => [h.id, h.score]),
      [
        ['x', 0.9],
        ['y', 0.5],
      ],
    );
    assert.equal(fusion, 'caption cosine');
  });
});
