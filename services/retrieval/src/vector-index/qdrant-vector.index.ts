import { checkFilter, checkPayload, checkQuery, normalise } from './vector-index.validation';
import { createHash } from 'node:crypto';
import { QdrantClient, QdrantClientTimeoutError, type Schemas } from '@qdrant/js-client-rest';
import {
  DEFAULT_VECTOR_DIMENSIONS,
  IndexedPayload,
  SearchFilter,
  VECTOR_NAMES,
  VectorHit,
  VectorIndex,
  VectorIndexDimensions,
  VectorIndexInputError,
  VectorName,
  VectorQuery,
  VectorRecord,
} from './vector-index.port';

/** How to reach Qdrant. The only file that imports the Qdrant SDK is this one. */
export interface QdrantConnection {
  url: string;
  apiKey?: string;
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
}

export interface QdrantVectorIndexOptions extends QdrantConnection {
  /** Prefix of the alias and collection names (default `adseed`). */
  prefix?: string;
  /**
   * Generation of the embedding models the vectors come from. Names the collection
   * `<prefix>-assets-<version>` that is created (and aliased) when the alias does not exist yet;
   * bump it with `reindexInto` when the models change.
   */
  version?: string;
  dimensions?: VectorIndexDimensions;
}

/** A Qdrant call failed for a reason other than the caller's arguments (network, timeout, server). */
export class QdrantVectorIndexError extends Error {
  override readonly name = 'QdrantVectorIndexError';
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const DEFAULT_PREFIX = 'adseed';
const DEFAULT_VERSION = 'v1';
const DEFAULT_TIMEOUT_MS = 10_000;
/** Points per upsert request: ~128 × 896 floats keeps a request body around 2 MB of JSON. */
const UPSERT_CHUNK = 128;
/** Qdrant payload key holding the caller's id: point ids must be UUIDs, asset ids need not be. */
export const ASSET_ID_PAYLOAD_KEY = '_assetId';
/** Fixed namespace for UUIDv5 point ids; changing it re-keys every stored point. */
const POINT_ID_NAMESPACE = '5d0c3f8e-7f1a-4b7e-9a54-2f4d9b1c6e21';
const NAME_PART = /^[A-Za-z0-9_.-]{1,100}$/;

export const aliasName = (prefix: string): string => `${prefix}-assets`;
export const collectionName = (prefix: string, version: string): string => `${prefix}-assets-${version}`;

export interface ReindexOptions {
  /** Delete the collection the alias served before the swap (default false: keep it for a rollback via swapAlias). */
  dropPrevious?: boolean;
}

export interface ReindexResult {
  collection: string;
  previous?: string;
  dropped?: string;
}

/**
 * VectorIndex over Qdrant. One collection per embedding-model generation, with named vectors
 * `clip` and `caption` (cosine) and keyword payload indexes on tenant (tenant-optimised), kind
 * and tags. Every read and write goes through the alias `<prefix>-assets`, so `reindexInto` can
 * fill a new collection and swap the alias under running instances without downtime.
 */
export class QdrantVectorIndex implements VectorIndex {
  private writeQueue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly client: QdrantClient,
    /** The alias (normal use) or a collection (a staging collection being filled). */
    readonly target: string,
    /** The collection `target` resolved to at open; after a swap the alias may point elsewhere. */
    readonly collection: string,
    readonly dimensions: VectorIndexDimensions,
  ) {}

  /**
   * Opens the index behind the alias, creating the collection for `version` and the alias when
   * the alias does not exist yet. Fails when the collection's vectors do not match `dimensions`.
   */
  static async open(options: QdrantVectorIndexOptions): Promise<QdrantVectorIndex> {
    const { prefix, version, dimensions } = checkOptions(options);
    const client = connect(options);
    const alias = aliasName(prefix);
    const served = await currentTarget(client, alias);
    if (served !== undefined) {
      await verifyCollection(client, served, dimensions);
      return new QdrantVectorIndex(client, alias, served, dimensions);
    }
    const collection = collectionName(prefix, version);
    await ensureCollection(client, collection, dimensions);
    await call(`create alias ${alias}`, () =>
      client.updateCollectionAliases({
        actions: [{ create_alias: { alias_name: alias, collection_name: collection } }],
      }),
    );
    return new QdrantVectorIndex(client, alias, collection, dimensions);
  }

  /**
   * Builds the collection for `options.version` from scratch, lets `fill` write into it while the
   * alias keeps serving the old one, then swaps the alias. A leftover collection of the same
   * version that the alias does not serve (an interrupted reindex) is dropped first. Writes that
   * reach the old collection while `fill` runs are not copied over: `fill` replays from the
   * source of truth (asset store or event log), and must catch up before it returns.
   */
  static async reindexInto(
    options: QdrantVectorIndexOptions,
    fill: (staging: VectorIndex) => Promise<void>,
    reindex: ReindexOptions = {},
  ): Promise<ReindexResult> {
    const { prefix, version, dimensions } = checkOptions(options);
    const client = connect(options);
    const alias = aliasName(prefix);
    const collection = collectionName(prefix, version);
    const live = await currentTarget(client, alias);
    if (live === collection) {
      throw new QdrantVectorIndexError(`alias ${alias} already serves ${collection}; reindex into a new version`);
    }
    if ((await call(`check collection ${collection}`, () => client.collectionExists(collection))).exists) {
      await call(`drop stale ${collection}`, () => client.deleteCollection(collection));
    }
    await ensureCollection(client, collection, dimensions);
    const staging = new QdrantVectorIndex(client, collection, collection, dimensions);
    try {
      await fill(staging);
    } finally {
      await staging.close();
    }
    const { previous } = await swapAlias(options, alias, collection);
    if (previous !== undefined && reindex.dropPrevious) {
      await call(`drop ${previous}`, () => client.deleteCollection(previous));
      return { collection, previous, dropped: previous };
    }
    return previous === undefined ? { collection } : { collection, previous };
  }

  async upsert(records: VectorRecord[]): Promise<void> {
    this.assertOpen();
    if (!Array.isArray(records)) throw new VectorIndexInputError('upsert expects an array of records');
    const points = records.map((record, i) => this.toPoint(record, i));
    if (points.length === 0) return;
    // Within one batch the last version of an id wins, as in a sequence of single upserts.
    const unique = [...new Map(points.map((p) => [p.id, p])).values()];
    await this.mutate('upsert', async () => {
      for (let i = 0; i < unique.length; i += UPSERT_CHUNK) {
        await this.client.upsert(this.target, { wait: true, points: unique.slice(i, i + UPSERT_CHUNK) });
      }
    });
  }

  async delete(ids: string[]): Promise<void> {
    this.assertOpen();
    if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')) {
      throw new VectorIndexInputError('delete expects an array of string ids');
    }
    if (ids.length === 0) return;
    await this.mutate('delete', () => this.client.delete(this.target, { wait: true, points: ids.map(pointIdOf) }));
  }

  async get(id: string): Promise<VectorRecord | undefined> {
    this.assertOpen();
    if (typeof id !== 'string' || id === '') throw new VectorIndexInputError('id must be a non-empty string');
    const [point] = await call(`retrieve from ${this.target}`, () =>
      this.client.retrieve(this.target, { ids: [pointIdOf(id)], with_payload: true, with_vector: true }),
    );
    if (!point) return undefined;
    return { id, vectors: vectorsOf(point.vector), payload: payloadOf(point.payload).payload };
  }

  async search(query: VectorQuery): Promise<VectorHit[]> {
    this.assertOpen();
    const { using, filter, limit } = query;
    const unit = checkQuery(query, this.dimensions);
    // Qdrant orders equal scores its own way; the contract breaks ties by ascending asset id (as
    // the embedded index does), so identical vectors — e.g. photos sharing one caption — rank the
    // same on both. Over-fetch so a tie group straddling the limit is still ordered by id.
    const fetch = Math.min(limit + Math.max(16, limit), limit + 1000);
    const response = await call(`query ${this.target}`, () =>
      this.client.query(this.target, {
        query: Array.from(unit),
        using,
        filter: toQdrantFilter(filter),
        limit: fetch,
        with_payload: true,
        with_vector: false,
      }),
    );
    const hits = response.points.map((point) => {
      const { id, payload } = payloadOf(point.payload);
      return { id: id ?? String(point.id), score: point.score, payload };
    });
    return hits.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).slice(0, limit);
  }

  async count(filter?: Partial<SearchFilter>): Promise<number> {
    this.assertOpen();
    if (filter !== undefined) checkFilter(filter, 'filter', false);
    const result = await call(`count ${this.target}`, () =>
      this.client.count(this.target, { exact: true, filter: filter ? toQdrantFilter(filter) : undefined }),
    );
    return result.count;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Let writes already accepted finish; the client holds no other resources to release.
    await this.writeQueue.catch(() => undefined);
  }

  /** Mutations run one at a time, in call order, like the embedded index's. */
  private mutate(op: string, body: () => Promise<unknown>): Promise<void> {
    const run = this.writeQueue.then(() => call(`${op} into ${this.target}`, body));
    this.writeQueue = run.catch(() => undefined);
    return run.then(() => undefined);
  }

  private toPoint(record: VectorRecord, i: number): Schemas['PointStruct'] {
    const at = `records[${i}]`;
    if (typeof record !== 'object' || record === null) throw new VectorIndexInputError(`${at} must be an object`);
    if (typeof record.id !== 'string' || record.id.length === 0) {
      throw new VectorIndexInputError(`${at}.id must be a non-empty string`);
    }
    const payload = checkPayload(record.payload, `${at}.payload`, { key: ASSET_ID_PAYLOAD_KEY, why: 'by the Qdrant index (it stores the record id)' });
    const vector: Record<string, number[]> = {};
    for (const [name, value] of Object.entries(record.vectors ?? {})) {
      if (!VECTOR_NAMES.includes(name as VectorName)) {
        throw new VectorIndexInputError(`${at}.vectors.${name} is not a known vector; use ${VECTOR_NAMES.join(' or ')}`);
      }
      if (value === undefined) continue;
      const vectorName = name as VectorName;
      vector[vectorName] = Array.from(normalise(value, vectorName, this.dimensions[vectorName], `${at}.vectors.${name}`));
    }
    // Upsert replaces the whole point, so named vectors absent here are dropped from it.
    return { id: pointIdOf(record.id), vector, payload: { ...payload, [ASSET_ID_PAYLOAD_KEY]: record.id } };
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`Qdrant vector index ${this.target} is closed`);
  }
}

/**
 * Points `alias` at `collection` in one atomic alias update (delete + create), so searches never
 * see a missing alias. Returns the collection the alias pointed to before, if any.
 */
export async function swapAlias(connection: QdrantConnection, alias: string, collection: string): Promise<{ previous?: string }> {
  const client = connect(connection);
  const exists = await call(`check collection ${collection}`, () => client.collectionExists(collection));
  if (!exists.exists) throw new QdrantVectorIndexError(`cannot point alias ${alias} at collection ${collection}: it does not exist`);
  const previous = await currentTarget(client, alias);
  const actions: Schemas['AliasOperations'][] = [];
  if (previous !== undefined) actions.push({ delete_alias: { alias_name: alias } });
  actions.push({ create_alias: { alias_name: alias, collection_name: collection } });
  await call(`swap alias ${alias} to ${collection}`, () => client.updateCollectionAliases({ actions }));
  return previous === undefined ? {} : { previous };
}

/** See `QdrantVectorIndex.reindexInto`. */
export const reindexInto = (
  options: QdrantVectorIndexOptions,
  fill: (staging: VectorIndex) => Promise<void>,
  reindex: ReindexOptions = {},
): Promise<ReindexResult> => QdrantVectorIndex.reindexInto(options, fill, reindex);

/** Deletes the alias and every collection of `prefix` (tests and teardown scripts). */
export async function dropIndex(connection: QdrantConnection, prefix: string): Promise<void> {
  const client = connect(connection);
  const alias = aliasName(prefix);
  if ((await currentTarget(client, alias)) !== undefined) {
    await call(`delete alias ${alias}`, () => client.updateCollectionAliases({ actions: [{ delete_alias: { alias_name: alias } }] }));
  }
  const { collections } = await call('list collections', () => client.getCollections());
  for (const { name } of collections) {
    if (name.startsWith(`${alias}-`)) await call(`drop ${name}`, () => client.deleteCollection(name));
  }
}

// --- point ids ----------------------------------------------------------------------------------

/** RFC 4122 version-5 (SHA-1, name-based) UUID of `name` in `namespace`. */
export function uuidV5(name: string, namespace: string): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  if (ns.length !== 16) throw new Error(`namespace ${namespace} is not a UUID`);
  const bytes = createHash('sha1').update(ns).update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x50;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The Qdrant point id of an asset id: stable across processes, so upserts replace. */
export const pointIdOf = (assetId: string): string => uuidV5(assetId, POINT_ID_NAMESPACE);

// --- Qdrant plumbing ----------------------------------------------------------------------------

function connect(connection: QdrantConnection): QdrantClient {
  if (!connection.url) throw new Error('Qdrant url is required (QDRANT_URL)');
  // checkCompatibility would fetch the server version on construction and warn on stderr.
  return new QdrantClient({
    url: connection.url,
    apiKey: connection.apiKey,
    timeout: connection.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    checkCompatibility: false,
  });
}

function checkOptions(options: QdrantVectorIndexOptions): { prefix: string; version: string; dimensions: VectorIndexDimensions } {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const version = options.version ?? DEFAULT_VERSION;
  for (const [field, value] of [
    ['prefix', prefix],
    ['version', version],
  ] as const) {
    if (!NAME_PART.test(value)) {
      throw new VectorIndexInputError(`Qdrant ${field} ${JSON.stringify(value)} must be 1-100 characters of letters, digits, _ . -`);
    }
  }
  const dimensions = options.dimensions ?? { ...DEFAULT_VECTOR_DIMENSIONS };
  for (const name of VECTOR_NAMES) {
    if (!Number.isInteger(dimensions[name]) || dimensions[name] < 1 || dimensions[name] > 65_536) {
      throw new VectorIndexInputError(`dimensions.${name} must be an integer in [1, 65536], got ${String(dimensions[name])}`);
    }
  }
  return { prefix, version, dimensions };
}

async function currentTarget(client: QdrantClient, alias: string): Promise<string | undefined> {
  const { aliases } = await call('list aliases', () => client.getAliases());
  return aliases.find((a) => a.alias_name === alias)?.collection_name;
}

async function ensureCollection(client: QdrantClient, collection: string, dimensions: VectorIndexDimensions): Promise<void> {
  const exists = await call(`check collection ${collection}`, () => client.collectionExists(collection));
  if (!exists.exists) {
    try {
      await client.createCollection(collection, {
        vectors: {
          clip: { size: dimensions.clip, distance: 'Cosine' },
          caption: { size: dimensions.caption, distance: 'Cosine' },
        },
      });
    } catch (error) {
      // Another replica starting at the same time created it first: verify it below.
      if (statusOf(error) !== 409) throw wrap(`create collection ${collection}`, error);
    }
  }
  await verifyCollection(client, collection, dimensions);
}

/** Keyword indexes the filters use; tenant is marked so Qdrant co-locates each tenant's points. */
const PAYLOAD_INDEXES: { field: string; schema: Schemas['PayloadFieldSchema'] }[] = [
  { field: 'tenant', schema: { type: 'keyword', is_tenant: true } },
  { field: 'kind', schema: 'keyword' },
  { field: 'tags', schema: 'keyword' },
];

async function verifyCollection(client: QdrantClient, collection: string, dimensions: VectorIndexDimensions): Promise<void> {
  const info = await call(`describe collection ${collection}`, () => client.getCollection(collection));
  const vectors = info.config.params.vectors as Record<string, { size?: number; distance?: string } | undefined> | undefined;
  for (const name of VECTOR_NAMES) {
    const params = vectors?.[name];
    if (params?.size !== dimensions[name] || params.distance !== 'Cosine') {
      throw new QdrantVectorIndexError(
        `Qdrant collection ${collection} has ${name} vectors ` +
          `${params ? `of size ${String(params.size)} (${String(params.distance)})` : 'missing'}; this service needs size ` +
          `${dimensions[name]} (Cosine). Set ADSEED_CLIP_DIM/ADSEED_CAPTION_DIM to match, or reindexInto a new version.`,
      );
    }
  }
  for (const { field, schema } of PAYLOAD_INDEXES) {
    if (info.payload_schema?.[field] === undefined) {
      await call(`index ${field} of ${collection}`, () => client.createPayloadIndex(collection, { field_name: field, field_schema: schema, wait: true }));
    }
  }
}

function toQdrantFilter(filter: Partial<SearchFilter>): Schemas['Filter'] {
  const must: Schemas['FieldCondition'][] = [];
  if (filter.tenant !== undefined) must.push({ key: 'tenant', match: { value: filter.tenant } });
  if (filter.kind !== undefined) must.push({ key: 'kind', match: { value: filter.kind } });
  // On an array field `match.value` means "contains", so one condition per tag is "has all".
  for (const tag of new Set(filter.tagsAll ?? [])) must.push({ key: 'tags', match: { value: tag } });
  return { must };
}

function vectorsOf(raw: Schemas['Record']['vector']): Partial<Record<VectorName, Float32Array>> {
  const vectors: Partial<Record<VectorName, Float32Array>> = {};
  if (raw === null || raw === undefined || Array.isArray(raw)) return vectors;
  for (const name of VECTOR_NAMES) {
    const value = (raw as Record<string, unknown>)[name];
    if (Array.isArray(value)) vectors[name] = Float32Array.from(value as number[]);
  }
  return vectors;
}

function payloadOf(raw: Record<string, unknown> | null | undefined): { id?: string; payload: IndexedPayload } {
  const { [ASSET_ID_PAYLOAD_KEY]: id, ...payload } = raw ?? {};
  return { id: typeof id === 'string' ? id : undefined, payload: payload as IndexedPayload };
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

function wrap(what: string, error: unknown): Error {
  if (error instanceof QdrantVectorIndexError || error instanceof VectorIndexInputError) return error;
  if (error instanceof QdrantClientTimeoutError) {
    return new QdrantVectorIndexError(`Qdrant ${what} timed out (raise QDRANT_TIMEOUT_MS or check the server)`, undefined, { cause: error });
  }
  const status = statusOf(error);
  const detail = (error as { data?: { status?: { error?: unknown } } } | null)?.data?.status?.error;
  const reason = typeof detail === 'string' ? detail : error instanceof Error ? error.message : String(error);
  return new QdrantVectorIndexError(`Qdrant ${what} failed${status ? ` (HTTP ${status})` : ''}: ${reason}`, status, { cause: error });
}

async function call<T>(what: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    throw wrap(what, error);
  }
}

// --- validation (the same rules as the embedded index, so both adapters reject the same calls) --
