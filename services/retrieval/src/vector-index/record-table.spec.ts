import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RecordTable } from './record-table';
import { rng } from './vector-index.contract';
import { IndexedPayload } from './vector-index.port';

const payload = (n: number): IndexedPayload => ({
  tenant: `t${n % 3}`,
  kind: n % 2 ? 'seed' : 'brand',
  path: `p/${n}.jpg`,
  tags: n % 4 ? ['a', `x${n % 5}`] : [],
  indexedAt: '2025-01-01T00:00:00Z',
  caption: `ünïcode ${n} 🐈`,
});

/** Applies random adds (as upserts: remove, then add) and deletes to a table and to a Map, checking both agree. */
function exercise(table: RecordTable, model: Map<string, number>, steps: number, seed: number): RecordTable {
  const random = rng(seed);
  let current = table;
  for (let step = 0; step < steps; step++) {
    const n = Math.floor(random() * 300);
    const id = `id-${n}-${'é'.repeat(n % 3)}`;
    const existing = current.indexOf(id);
    assert.equal(existing !== undefined, model.has(id), `presence of ${id} at step ${step}`);
    if (existing !== undefined) {
      current.remove(existing);
      model.delete(id);
    }
    if (random() < 0.6) {
      const p = payload(n);
      current.add(id, p, JSON.stringify(p));
      model.set(id, n);
    }
    if (step % 97 === 0) current = RecordTable.fromSections(current.toSections()); // a snapshot round trip
  }
  return current;
}

function assertAgrees(table: RecordTable, model: Map<string, number>): void {
  assert.equal(table.size, model.size);
  for (const [id, n] of model) {
    const record = table.indexOf(id);
    assert.ok(record !== undefined, `${id} is found`);
    assert.equal(table.idAt(record), id);
    assert.deepEqual(table.payload(record), payload(n));
  }
  assert.equal(table.indexOf('never-added'), undefined);
  assert.equal(
    table.countMatching({ tenant: 't1', kind: 'seed', tagsAll: ['a'] }),
    [...model.values()].filter((n) => n % 3 === 1 && n % 2 === 1 && n % 4 !== 0).length,
  );
}

describe(RecordTable.name, () => {
  it('finds every live id after random upserts, deletes and snapshot round trips', () => {
    const model = new Map<string, number>();
    const table = exercise(new RecordTable(16), model, 5000, 1);
    assertAgrees(table, model);
  });

  it('keeps working after deleting everything and starting again', () => {
    const model = new Map<string, number>();
    let table = exercise(new RecordTable(16), model, 800, 2);
    for (const id of [...model.keys()]) {
      table.remove(table.indexOf(id) as number);
      model.delete(id);
    }
    assertAgrees(table, model);
    table = exercise(RecordTable.fromSections(table.toSections()), model, 800, 3);
    assertAgrees(table, model);
  });
});
