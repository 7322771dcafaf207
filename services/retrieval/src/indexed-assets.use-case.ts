import type { AssetDeleted, GetAssetReply, GetAssetRequest } from '@adseed/contracts';
import { LOGGER, METRICS } from '@adseed/platform';
import type { Logger, ServiceMetrics } from '@adseed/telemetry';
import { Inject, Injectable } from '@nestjs/common';
import { DeletedAssets } from './deleted-assets';
import { requestedOf } from './index-asset.use-case';
import { rightsOfPayload } from './search.use-case';
import { VECTOR_INDEX, type VectorIndex } from './vector-index/vector-index.port';

/** Reads one indexed asset for its owner, and drops a deleted asset's vectors. */
@Injectable()
export class IndexedAssetsUseCase {
  constructor(
    @Inject(VECTOR_INDEX) private readonly index: VectorIndex,
    @Inject(METRICS) private readonly metrics: ServiceMetrics,
    private readonly deleted: DeletedAssets,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async get(request: GetAssetRequest): Promise<GetAssetReply> {
    const record = await this.index.get(request.assetId);
    // Another tenant's asset is as absent as an unknown one.
    if (!record || record.payload.tenant !== request.tenant) return {};
    const { payload } = record;
    const rights = rightsOfPayload(payload);
    return {
      asset: {
        assetId: record.id,
        tenant: payload.tenant,
        kind: payload.kind,
        path: payload.path,
        ...(payload.caption ? { caption: payload.caption } : {}),
        tags: payload.tags,
        ...(rights ? { rights } : {}),
        indexedAt: payload.indexedAt,
      },
    };
  }

  /**
   * Idempotent: an unknown id (already deleted, or not indexed yet) leaves the index as it is.
   * The deletion is remembered first, in either case, so vectors of an ingest still in flight
   * do not bring the asset back (see `DeletedAssets`). A record written by an ingest requested
   * after the deletion (the asset uploaded again, changed, its vectors here before the late
   * deletion) stays. The same bytes uploaded again leave the record as it was (a re-ingest
   * writes nothing), so a deletion arriving after them still removes it.
   */
  delete(event: AssetDeleted): Promise<void> {
    return this.deleted.inTurn(event.assetId, async () => {
      await this.deleted.record(event);
      const record = await this.index.get(event.assetId);
      if (!record || record.payload.tenant !== event.tenant) return;
      if (requestedOf(record) > Date.parse(event.deletedAt)) {
        this.logger.info('deletion older than the indexed upload: kept', { assetId: event.assetId, deletedAt: event.deletedAt });
        return;
      }
      await this.index.delete([event.assetId]);
      this.metrics.indexVectors.set({ tenant: event.tenant }, await this.index.count({ tenant: event.tenant }));
    });
  }
}
