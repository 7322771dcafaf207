import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AssetEmbedded, AssetTopics, ingestPredatesDeletion, vectorFromWire, vectorToWire, WireVector } from './asset.events';

/** Float32 values of every kind a model can put out: signs, tiny and large magnitudes, zero. */
function sampleVector(n: number, seed: number): Float32Array {
  const v = new Float32Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    v[i] = ((x / 2 ** 31) * 2 - 1) * 10 ** ((i % 9) - 6);
  }
  v[0] = 0;
  return v;
}

const event = (vectors: AssetEmbedded['vectors']) => ({
  assetId: 'a1',
  tenant: 'acme',
  kind: 'seed',
  path: 'seeds/acme/dog.jpg',
  tags: [],
  vectors,
  models: {},
  embeddedAt: '2026-12-01T00:00:00.000Z',
});

describe('asset.embedded vectors on the wire', () => {
  it('carries the same float32 values as a JSON array and as base64 float32, through JSON and validation', () => {
    for (const n of [1, 3, 384, 512, 4096]) {
      const vector = sampleVector(n, n);
      for (const format of ['json', 'float32'] as const) {
        const sent = JSON.stringify(event({ clip: vectorToWire(vector, format) }));
        const parsed = AssetTopics.embedded.schema.parse(JSON.parse(sent));
        assert.ok(parsed.vectors.clip, `${format}, ${n} values`);
        assert.deepEqual(vectorFromWire(parsed.vectors.clip), vector, `${format}, ${n} values`);
      }
    }
  });

  it('sends base64 as little-endian float32s back to back, a quarter of the JSON', () => {
    const vector = Float32Array.of(1, -2.5, 0.1);
    const wire = vectorToWire(vector, 'float32') as { f32le: string };
    const bytes = Buffer.from(wire.f32le, 'base64');
    assert.deepEqual([bytes.readFloatLE(0), bytes.readFloatLE(4), bytes.readFloatLE(8)], Array.from(vector));
    const big = sampleVector(512, 7);
    assert.ok(JSON.stringify(vectorToWire(big, 'float32')).length * 3 < JSON.stringify(vectorToWire(big, 'json')).length);
  });

  it('reads a view into a larger buffer (an encoder output slice) from its own bytes only', () => {
    const backing = sampleVector(8, 3);
    const view = backing.subarray(2, 5);
    assert.deepEqual(vectorFromWire(vectorToWire(view, 'float32')), Float32Array.from(view));
  });

  it('rejects base64 that is not 1 to 4,096 finite float32 values, and other shapes', () => {
    const f32 = (values: number[]) => ({ f32le: Buffer.from(Float32Array.from(values).buffer).toString('base64') });
    const bad: [string, unknown][] = [
      ['empty', { f32le: '' }],
      ['not base64', { f32le: 'AAAA!AAA' }],
      ['2 bytes', { f32le: Buffer.from([1, 2]).toString('base64') }],
      ['6 bytes', { f32le: Buffer.from([1, 2, 3, 4, 5, 6]).toString('base64') }],
      ['NaN', f32([1, NaN])],
      ['Infinity', f32([Infinity])],
      ['4,097 values', f32(new Array(4097).fill(0.5))],
      ['an extra key', { ...f32([1]), dtype: 'float32' }],
      ['an empty array', []],
      ['strings in an array', ['1']],
    ];
    for (const [what, vector] of bad) {
      assert.equal(WireVector.safeParse(vector).success, false, what);
      assert.equal(AssetEmbedded.safeParse(event({ caption: vector as WireVector })).success, false, `${what} in an event`);
    }
    assert.equal(WireVector.safeParse(f32(new Array(4096).fill(0.5))).success, true);
    assert.equal(WireVector.safeParse([0.5, 1]).success, true);
  });
});

describe('ingestPredatesDeletion', () => {
  const deletedAt = '2026-12-03T10:00:00.000Z';
  it('holds back an ingest requested before or at the deletion, not one requested after it', () => {
    assert.equal(ingestPredatesDeletion('2026-12-03T09:59:59.999Z', deletedAt), true);
    assert.equal(ingestPredatesDeletion(deletedAt, deletedAt), true, 'at the same millisecond: the object may have been read before it went');
    assert.equal(ingestPredatesDeletion('2026-12-03T10:00:00.001Z', deletedAt), false);
    assert.equal(ingestPredatesDeletion('2026-12-03T11:00:00+01:00', deletedAt), true, 'compared as instants, not as text');
  });

  it('counts a time that does not parse as older (held back)', () => {
    assert.equal(ingestPredatesDeletion('yesterday', deletedAt), true);
    assert.equal(ingestPredatesDeletion('2026-12-03T11:00:00.000Z', 'not a time'), true);
  });
});
