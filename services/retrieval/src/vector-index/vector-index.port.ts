/**
 * The vector index port: what the retrieval service needs from a vector store. Two adapters
 * implement it: the embedded index (this folder) and, later, Qdrant; both must pass
 * `describeVectorIndexContract`.
 */

/** Injection token of the service's `VectorIndex` (the adapter `ADSEED_INDEX` names). */
export const VECTOR_INDEX = Symbol('VECTOR_INDEX');

export type VectorName = 'clip' | 'caption';
export const VECTOR_NAMES: readonly VectorName[] = ['clip', 'caption'];

export type AssetKind = 'seed' | 'brand' | 'ad';
export const ASSET_KINDS: readonly AssetKind[] = ['seed', 'brand', 'ad'];

/** Stored with each record. Must be JSON-serialisable: adapters persist it as JSON. */
export interface IndexedPayload {
  tenant: string;
  kind: AssetKind;
  path: string;
  tags: string[];
  caption?: string;
  modelId?: string;
  modelVersion?: string;
  indexedAt: string;
  [extra: string]: unknown;
}

export interface VectorRecord {
  id: string;
  /** A record may carry any subset of the named vectors; searches only see those it has. */
  vectors: Partial<Record<VectorName, Float32Array>>;
  payload: IndexedPayload;
}

export interface SearchFilter {
  /** Always required: results never cross tenants. */
  tenant: string;
  kind?: AssetKind;
  /** Every listed tag must be present on the record; empty or absent means no constraint. */
  tagsAll?: string[];
}

export interface VectorQuery {
  using: VectorName;
  vector: Float32Array;
  filter: SearchFilter;
  /** Positive integer; fewer hits are returned when fewer records match. */
  limit: number;
}

export interface VectorHit {
  id: string;
  /** Cosine similarity in [-1, 1]. */
  score: number;
  payload: IndexedPayload;
}

export interface VectorIndex {
  /**
   * Insert or replace by id (idempotent). Vectors are L2-normalised by the index. A batch with
   * an invalid record (wrong dimension, zero or non-finite vector, bad payload) is rejected
   * whole, before anything is written.
   */
  upsert(records: VectorRecord[]): Promise<void>;
  /** Unknown ids are ignored. */
  delete(ids: string[]): Promise<void>;
  /** The stored record with its normalised vectors, or undefined. */
  get(id: string): Promise<VectorRecord | undefined>;
  /** Cosine similarity, best first, only records matching the filter that HAVE the named vector. */
  search(query: VectorQuery): Promise<VectorHit[]>;
  /** Number of records matching the filter (all records without one), whatever vectors they have. */
  count(filter?: Partial<SearchFilter>): Promise<number>;
  close(): Promise<void>;
}

export interface VectorIndexDimensions {
  clip: number;
  caption: number;
}

export const DEFAULT_VECTOR_DIMENSIONS: Readonly<VectorIndexDimensions> = { clip: 512, caption: 384 };

/**
 * A call the index rejected because of its arguments (wrong dimension, missing tenant, bad
 * limit...). The message names the offending field and what it must be; callers map it to 400.
 */
export class VectorIndexInputError extends Error {
  override readonly name = 'VectorIndexInputError';
}
