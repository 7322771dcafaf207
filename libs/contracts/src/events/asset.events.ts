import { z } from 'zod';
import { AssetId, AssetKind, chars, ModelRef, Rights, StoragePath, Tags, TenantId } from '../common';
import { defineTopic } from '../topic';

/**
 * Published by the gateway (upload), the CLI, a data team, or the storage-notification bridge.
 * The key is the asset id, so every event for one asset lands on one partition, in order.
 */
export const AssetIngestRequested = z.object({
  assetId: AssetId,
  tenant: TenantId,
  kind: AssetKind,
  path: StoragePath,
  /** The object's etag/content hash when known: lets consumers skip work already done. */
  contentHash: z.string().max(128).optional(),
  caption: chars(2000).optional(),
  tags: Tags.default([]),
  /** Licence, attribution, expiry and channels; carried to the index so search can honour them. */
  rights: Rights.optional(),
  source: z.enum(['upload', 'cli', 'event', 'storage-notification', 'demo']).default('event'),
  requestedAt: z.string().datetime().optional(),
});
export type AssetIngestRequested = z.infer<typeof AssetIngestRequested>;

const MAX_VECTOR = 4096;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The float32 values of a `{ f32le }` vector, or undefined when its text is not whole float32s. */
function float32sOf(base64: string): Float32Array | undefined {
  if (!BASE64.test(base64)) return undefined;
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length === 0 || bytes.length % 4 !== 0 || bytes.length > 4 * MAX_VECTOR) return undefined;
  const floats = new Float32Array(bytes.length / 4);
  if (LITTLE_ENDIAN_HOST)
    new Uint8Array(floats.buffer).set(bytes); // its own buffer: aligned, not a view of Node's pool
  else for (let i = 0; i < floats.length; i++) floats[i] = bytes.readFloatLE(4 * i);
  return floats;
}

const LITTLE_ENDIAN_HOST = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/**
 * A vector on the wire, in either of two forms that every consumer accepts:
 * - a JSON array of numbers (the original form; what data teams and older producers send);
 * - `{ "f32le": "<base64>" }`: the IEEE-754 float32 values, little-endian, back to back, in
 *   base64 — a quarter of the bytes, and no number formatting or parsing (the embedding service
 *   sends it with `ADSEED_EVENT_VECTORS=float32`). Either form holds 1 to 4,096 finite numbers.
 */
export const WireVector = z.union([
  z.array(z.number()).min(1).max(MAX_VECTOR),
  z
    .object({
      f32le: z
        .string()
        .max(Math.ceil((4 * MAX_VECTOR) / 3) * 4)
        .refine((text) => {
          const floats = float32sOf(text);
          return floats !== undefined && floats.every(Number.isFinite);
        }, `must be base64 of 1 to ${MAX_VECTOR} finite little-endian float32 values`),
    })
    .strict(),
]);
export type WireVector = z.infer<typeof WireVector>;

/** How a producer writes vectors: `json` arrays (readable by every consumer version) or compact `float32`. */
export type VectorWireFormat = 'json' | 'float32';

/** A vector as `format` puts it on the wire (see `WireVector`). */
export function vectorToWire(vector: Float32Array, format: VectorWireFormat): WireVector {
  if (format === 'json') return Array.from(vector);
  let bytes = Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
  if (!LITTLE_ENDIAN_HOST) {
    bytes = Buffer.alloc(vector.byteLength);
    vector.forEach((value, i) => bytes.writeFloatLE(value, 4 * i));
  }
  return { f32le: bytes.toString('base64') };
}

/** A validated wire vector's values, whichever form it came in. */
export function vectorFromWire(vector: WireVector): Float32Array {
  if (Array.isArray(vector)) return Float32Array.from(vector);
  const floats = float32sOf(vector.f32le);
  if (!floats) throw new Error('vector is not base64 float32 (validate the event first)');
  return floats;
}

const Vector = WireVector;

/** Published by the embedding service once an asset's vectors are computed. */
export const AssetEmbedded = z.object({
  assetId: AssetId,
  tenant: TenantId,
  kind: AssetKind,
  path: StoragePath,
  contentHash: z.string().max(128).optional(),
  caption: chars(2000).optional(),
  tags: Tags,
  rights: Rights.optional(),
  /** Zero-shot labels from the CLIP towers over a configured vocabulary (ADSEED_ZERO_SHOT_LABELS). */
  labels: z.array(z.string().max(100)).max(16).optional(),
  vectors: z.object({ clip: Vector.optional(), caption: Vector.optional() }),
  models: z.object({ clip: ModelRef.optional(), caption: ModelRef.optional() }),
  /**
   * When the ingest these vectors come from was requested (the request's own `requestedAt`, or
   * the time the embedding service began reading the object when the request had none). A
   * deletion at or after it was of the object these vectors describe: see `ingestPredatesDeletion`.
   */
  requestedAt: z.string().datetime().optional(),
  embeddedAt: z.string(),
});
export type AssetEmbedded = z.infer<typeof AssetEmbedded>;

/**
 * Published by the retrieval service after the index holds the asset (or already held it).
 * Carries what the asset is about (caption, tags), so read models such as the agent's subject
 * catalogue stay current without reading the index.
 */
export const AssetIndexed = z.object({
  assetId: AssetId,
  tenant: TenantId,
  path: StoragePath,
  changed: z.boolean(),
  kind: AssetKind.optional(),
  caption: chars(2000).optional(),
  tags: Tags.optional(),
  rights: Rights.optional(),
  labels: z.array(z.string().max(100)).max(16).optional(),
  /** The `requestedAt` of the ingest that was indexed (see `AssetEmbedded.requestedAt`). */
  requestedAt: z.string().datetime().optional(),
  indexedAt: z.string(),
});
export type AssetIndexed = z.infer<typeof AssetIndexed>;

/**
 * Published when an asset is deleted (`DELETE /v1/assets/{id}`, or by a data team). The object
 * is already gone from the store; the retrieval service drops its vectors and the agent its
 * subject membership. Idempotent: deleting twice changes nothing.
 */
export const AssetDeleted = z.object({
  assetId: AssetId,
  tenant: TenantId,
  path: StoragePath,
  /** An ISO-8601 time: consumers compare it with ingest request times (`ingestPredatesDeletion`). */
  deletedAt: z.string().datetime({ offset: true }),
});
export type AssetDeleted = z.infer<typeof AssetDeleted>;

/**
 * How long consumers remember a deletion to hold back events of ingests in flight when it
 * happened: far longer than an ingest takes, even one that waited in a backlog.
 */
export const DELETION_TOMBSTONE_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * Whether an ingest requested at `requestedAt` was of an object deleted at `deletedAt`, so that
 * its vectors (or its `asset.indexed`) must not bring the asset back. The topics are not ordered
 * against each other: an `asset.embedded` of an ingest in flight when the asset was deleted (a
 * second ingest of one upload, from the storage notification, say) can reach the index after the
 * `asset.deleted`. The store deletes the object before `deletedAt` is taken, so an ingest
 * requested later read either nothing or a new upload, whose own ingest brings it back. A time
 * that does not parse counts as older. The times come from different hosts: clock skew between
 * them narrows what this catches.
 */
export function ingestPredatesDeletion(requestedAt: string, deletedAt: string): boolean {
  return !(Date.parse(requestedAt) > Date.parse(deletedAt));
}

export const AssetTopics = {
  ingestRequested: defineTopic('adseed.asset.ingest-requested.v1', AssetIngestRequested, 16),
  embedded: defineTopic('adseed.asset.embedded.v1', AssetEmbedded, 6),
  indexed: defineTopic('adseed.asset.indexed.v1', AssetIndexed, 3),
  deleted: defineTopic('adseed.asset.deleted.v1', AssetDeleted, 3),
} as const;
