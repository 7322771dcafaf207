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

const Vector = z.array(z.number()).min(1).max(4096);

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
  deletedAt: z.string(),
});
export type AssetDeleted = z.infer<typeof AssetDeleted>;

export const AssetTopics = {
  ingestRequested: defineTopic('adseed.asset.ingest-requested.v1', AssetIngestRequested, 16),
  embedded: defineTopic('adseed.asset.embedded.v1', AssetEmbedded, 6),
  indexed: defineTopic('adseed.asset.indexed.v1', AssetIndexed, 3),
  deleted: defineTopic('adseed.asset.deleted.v1', AssetDeleted, 3),
} as const;
