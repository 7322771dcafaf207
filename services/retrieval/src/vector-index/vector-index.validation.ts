import {
  ASSET_KINDS,
  VECTOR_NAMES,
  VectorIndexInputError,
  type AssetKind,
  type IndexedPayload,
  type SearchFilter,
  type VectorIndexDimensions,
  type VectorName,
  type VectorQuery,
} from './vector-index.port';

/**
 * Input checks shared by every VectorIndex adapter, so all of them reject the same calls with
 * the same messages (the contract suite relies on it).
 */

/** Validates and L2-normalises a copy of `vector`. */
export function normalise(vector: unknown, name: VectorName, expected: number, at: string): Float32Array {
  if (!(vector instanceof Float32Array)) throw new VectorIndexInputError(`${at} must be a Float32Array`);
  if (vector.length !== expected) {
    throw new VectorIndexInputError(`${at} has ${vector.length} dimensions; the '${name}' vector needs exactly ${expected}`);
  }
  let sum = 0;
  for (let i = 0; i < vector.length; i++) sum += vector[i] * vector[i];
  if (!Number.isFinite(sum)) throw new VectorIndexInputError(`${at} contains NaN or infinite values`);
  if (sum === 0) throw new VectorIndexInputError(`${at} is all zeros; cosine similarity needs a non-zero vector`);
  const norm = Math.sqrt(sum);
  const unit = new Float32Array(vector.length);
  for (let i = 0; i < vector.length; i++) unit[i] = vector[i] / norm;
  return unit;
}

/** Checks required fields and returns the payload as it will be stored (its JSON round trip). */
export function checkPayload(payload: unknown, at: string, reserved?: { key: string; why: string }): IndexedPayload {
  if (typeof payload !== 'object' || payload === null) throw new VectorIndexInputError(`${at} must be an object`);
  const p = payload as Partial<IndexedPayload>;
  for (const field of ['tenant', 'path', 'indexedAt'] as const) {
    if (typeof p[field] !== 'string' || (field === 'tenant' && p[field] === '')) {
      throw new VectorIndexInputError(`${at}.${field} must be a ${field === 'tenant' ? 'non-empty ' : ''}string`);
    }
  }
  if (!ASSET_KINDS.includes(p.kind as AssetKind)) {
    throw new VectorIndexInputError(`${at}.kind must be one of ${ASSET_KINDS.join(', ')}, got ${String(p.kind)}`);
  }
  if (!Array.isArray(p.tags) || p.tags.some((tag) => typeof tag !== 'string')) {
    throw new VectorIndexInputError(`${at}.tags must be an array of strings`);
  }
  if (reserved && reserved.key in p) throw new VectorIndexInputError(`${at}.${reserved.key} is reserved ${reserved.why}; rename the field`);
  try {
    return JSON.parse(JSON.stringify(payload)) as IndexedPayload;
  } catch (error) {
    throw new VectorIndexInputError(`${at} must be JSON-serialisable: ${(error as Error).message}`);
  }
}

export function checkFilter(filter: Partial<SearchFilter> | undefined, at: string, tenantRequired: boolean): void {
  if (typeof filter !== 'object' || filter === null) throw new VectorIndexInputError(`${at} must be an object`);
  if ((tenantRequired || filter.tenant !== undefined) && (typeof filter.tenant !== 'string' || filter.tenant === '')) {
    throw new VectorIndexInputError(`${at}.tenant must be a non-empty string`);
  }
  if (filter.kind !== undefined && !ASSET_KINDS.includes(filter.kind)) {
    throw new VectorIndexInputError(`${at}.kind must be one of ${ASSET_KINDS.join(', ')}, got ${String(filter.kind)}`);
  }
  if (filter.tagsAll !== undefined && (!Array.isArray(filter.tagsAll) || filter.tagsAll.some((t) => typeof t !== 'string'))) {
    throw new VectorIndexInputError(`${at}.tagsAll must be an array of strings`);
  }
}

/** Checks a search request and returns its query vector, L2-normalised. */
export function checkQuery(query: VectorQuery, dimensions: VectorIndexDimensions): Float32Array {
  const { using, filter, limit } = query;
  if (!VECTOR_NAMES.includes(using)) {
    throw new VectorIndexInputError(`query.using must be one of ${VECTOR_NAMES.join(', ')}, got ${String(using)}`);
  }
  if (!Number.isInteger(limit) || limit < 1) {
    throw new VectorIndexInputError(`query.limit must be a positive integer, got ${String(limit)}`);
  }
  checkFilter(filter, 'query.filter', true);
  return normalise(query.vector, using, dimensions[using], 'query.vector');
}
