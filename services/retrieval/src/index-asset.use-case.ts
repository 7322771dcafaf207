import { AssetTopics, vectorFromWire, type AssetEmbedded } from '@adseed/contracts';
import { EVENT_BUS, type EventBus } from '@adseed/messaging';
import { CLOCK, LOGGER, METRICS, type Clock } from '@adseed/platform';
import type { Logger, ServiceMetrics } from '@adseed/telemetry';
import { Inject, Injectable } from '@nestjs/common';
import { DeletedAssets } from './deleted-assets';
import { VECTOR_INDEX, type VectorIndex, type VectorRecord } from './vector-index/vector-index.port';

/**
 * Ingest step 3: puts an embedded asset into the index. Idempotent: the same event twice, or a
 * re-ingest of unchanged content with the same models, leaves the index untouched. Vectors of
 * an ingest requested before the asset was deleted are dropped (see `DeletedAssets`).
 */
@Injectable()
export class IndexAssetUseCase {
  constructor(
    @Inject(VECTOR_INDEX) private readonly index: VectorIndex,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(METRICS) private readonly metrics: ServiceMetrics,
    @Inject(CLOCK) private readonly now: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly deleted: DeletedAssets,
  ) {}

  /** `dropped` when the asset was deleted after this ingest was requested: nothing indexed or announced. */
  execute(event: AssetEmbedded): Promise<{ changed: boolean; dropped?: true }> {
    return this.deleted.inTurn(event.assetId, () => this.indexUnlessDeleted(event));
  }

  private async indexUnlessDeleted(event: AssetEmbedded): Promise<{ changed: boolean; dropped?: true }> {
    const requestedAt = event.requestedAt ?? event.embeddedAt;
    const tombstone = this.deleted.deletedSince(event.assetId, event.tenant, requestedAt);
    if (tombstone) {
      this.logger.info('vectors of a deleted asset dropped: its ingest was requested before the deletion', {
        assetId: event.assetId,
        tenant: event.tenant,
        requestedAt,
        deletedAt: tombstone.deletedAt,
      });
      return { changed: false, dropped: true };
    }
    const record = toRecord(event, requestedAt, this.now());
    const existing = await this.index.get(event.assetId);
    const changed = !existing || fingerprint(existing) !== fingerprint(record);
    if (changed) {
      await this.index.upsert([record]);
      this.metrics.indexVectors.set({ tenant: event.tenant }, await this.index.count({ tenant: event.tenant }));
    }
    await this.bus.publish(AssetTopics.indexed, {
      key: event.assetId,
      value: {
        assetId: event.assetId,
        tenant: event.tenant,
        path: event.path,
        changed,
        kind: event.kind,
        ...(event.caption ? { caption: event.caption } : {}),
        tags: event.tags,
        ...(event.rights ? { rights: event.rights } : {}),
        ...(event.labels?.length ? { labels: event.labels } : {}),
        ...(event.requestedAt ? { requestedAt: event.requestedAt } : {}),
        indexedAt: this.now().toISOString(),
      },
    });
    return { changed };
  }
}

/** When the ingest a record comes from was requested (ms), or -Infinity for a record indexed without it. */
export const requestedOf = (record: VectorRecord): number => {
  const at = typeof record.payload['requestedAt'] === 'string' ? Date.parse(record.payload['requestedAt']) : NaN;
  return Number.isNaN(at) ? -Infinity : at;
};

function toRecord(event: AssetEmbedded, requestedAt: string, now: Date): VectorRecord {
  return {
    id: event.assetId,
    vectors: {
      ...(event.vectors.clip ? { clip: vectorFromWire(event.vectors.clip) } : {}),
      ...(event.vectors.caption ? { caption: vectorFromWire(event.vectors.caption) } : {}),
    },
    payload: {
      tenant: event.tenant,
      kind: event.kind,
      path: event.path,
      tags: event.tags,
      ...(event.caption ? { caption: event.caption } : {}),
      ...(event.rights ? { rights: event.rights } : {}),
      contentHash: event.contentHash ?? '',
      clipModel: event.models.clip ? `${event.models.clip.id}@${event.models.clip.version}` : '',
      captionModel: event.models.caption ? `${event.models.caption.id}@${event.models.caption.version}` : '',
      ...(event.models.clip ? { modelId: event.models.clip.id, modelVersion: event.models.clip.version } : {}),
      requestedAt,
      indexedAt: now.toISOString(),
    },
  };
}

/** What makes a re-index a no-op: same object, same models, same caption, tags and rights (not the time). */
const fingerprint = (r: VectorRecord): string =>
  JSON.stringify([
    r.payload.tenant,
    r.payload.kind,
    r.payload.path,
    r.payload.contentHash,
    r.payload.clipModel,
    r.payload.captionModel,
    r.payload.caption ?? '',
    r.payload.tags,
    r.payload['rights'] ?? null,
  ]);
