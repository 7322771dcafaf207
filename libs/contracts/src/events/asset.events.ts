import { z } from 'zod';
import { AssetId, AssetKind, ModelRef, StoragePath, Tags, TenantId } from '../common';
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
  caption: z.string().max(2000).optional(),
  tags: Tags.default([]),
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
  caption: z.string().max(2000).optional(),
  tags: Tags,
  vectors: z.object({ clip: Vector.optional(), caption: Vector.optional() }),
  models: z.object({ clip: ModelRef.optional(), caption: ModelRef.optional() }),
  embeddedAt: z.string(),
});
export type AssetEmbedded = z.infer<typeof AssetEmbedded>;

/** Published by the retrieval service after the index holds the asset (or already held it). */
export const AssetIndexed = z.object({
  assetId: AssetId,
  tenant: TenantId,
  path: StoragePath,
  changed: z.boolean(),
  indexedAt: z.string(),
});
export type AssetIndexed = z.infer<typeof AssetIndexed>;

export const AssetTopics = {
  ingestRequested: defineTopic('adseed.asset.ingest-requested.v1', AssetIngestRequested, 16),
  embedded: defineTopic('adseed.asset.embedded.v1', AssetEmbedded, 6),
  indexed: defineTopic('adseed.asset.indexed.v1', AssetIndexed, 3),
} as const;
