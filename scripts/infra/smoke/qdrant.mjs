// Smoke: the real @qdrant/js-client-rest against the qdrant-edge test shim.
// create collection (named vectors) -> payload index -> alias -> upsert(wait) -> query with
// filter -> search -> retrieve -> delete point -> delete collection.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { QdrantClient } from '@qdrant/js-client-rest';

const url = process.env.ADSEED_QDRANT_URL ?? 'http://127.0.0.1:16333';
const client = new QdrantClient({ url, timeout: 10_000 });
const name = `smoke_${process.pid}`;
const alias = `${name}_current`;
const t0 = performance.now();

await client.createCollection(name, {
  vectors: { image: { size: 4, distance: 'Cosine' }, caption: { size: 4, distance: 'Cosine' } },
});
try {
  assert.equal((await client.collectionExists(name)).exists, true);
  await client.createPayloadIndex(name, { field_name: 'brand', field_schema: 'keyword', wait: true });
  await client.updateCollectionAliases({ actions: [{ create_alias: { collection_name: name, alias_name: alias } }] });

  const uuid = randomUUID();
  await client.upsert(alias, {
    wait: true,
    points: [
      { id: 1, vector: { image: [1, 0, 0, 0], caption: [0, 1, 0, 0] }, payload: { brand: 'acme', n: 1 } },
      { id: 2, vector: { image: [0.9, 0.1, 0, 0], caption: [0, 1, 0, 0] }, payload: { brand: 'other', n: 2 } },
      { id: uuid, vector: { image: [0, 0, 1, 0], caption: [1, 0, 0, 0] }, payload: { brand: 'acme', n: 3 } },
    ],
  });

  const info = await client.getCollection(alias);
  assert.equal(info.points_count, 3);
  assert.equal(info.payload_schema.brand?.data_type, 'keyword');

  const queried = await client.query(alias, {
    query: [1, 0, 0, 0],
    using: 'image',
    limit: 5,
    with_payload: true,
    filter: { must: [{ key: 'brand', match: { value: 'acme' } }] },
  });
  assert.deepEqual(
    queried.points.map((p) => p.id),
    [1, uuid],
  );
  assert.ok(queried.points[0].score > queried.points[1].score);

  const searched = await client.search(name, { vector: { name: 'image', vector: [1, 0, 0, 0] }, limit: 2 });
  assert.deepEqual(
    searched.map((p) => p.id),
    [1, 2],
  );

  const got = await client.retrieve(name, { ids: [uuid, 2], with_payload: true, with_vector: ['caption'] });
  assert.deepEqual(got.map((r) => r.payload?.n).sort(), [2, 3]);

  await client.delete(name, { wait: true, points: [1] });
  assert.equal((await client.count(name, { exact: true })).count, 2);

  const aliases = await client.getCollectionAliases(name);
  assert.deepEqual(
    aliases.aliases.map((a) => a.alias_name),
    [alias],
  );
} finally {
  await client.deleteCollection(name);
}
assert.equal((await client.collectionExists(name)).exists, false);
console.log(`qdrant-shim ok: collection/index/alias/upsert/query/search/retrieve/delete in ${(performance.now() - t0).toFixed(0)} ms`);
