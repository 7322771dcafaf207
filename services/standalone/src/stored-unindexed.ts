import { AssetTopics, assetIdFor, type AssetKind } from '@adseed/contracts';
import type { EventBus } from '@adseed/messaging';
import type { VectorIndex } from '@adseed/retrieval';
import type { ObjectStore } from '@adseed/storage';
import type { Logger } from '@adseed/telemetry';

export interface RequeueOptions {
  store: ObjectStore;
  index: VectorIndex;
  bus: EventBus;
  buckets: { seed: string; brand: string };
  logger: Logger;
}

/**
 * The one-process mode's repair on start: every seed or brand object the store holds but the
 * index does not gets its ingest event again, with the caption and tags kept in the object's
 * metadata. Run it once the journal's replay is done, so what is merely still in flight is not
 * queued twice (twice would be harmless: ingest is idempotent, just slower).
 */
export async function requeueStoredUnindexed(options: RequeueOptions): Promise<number> {
  const { store, index, bus, buckets, logger } = options;
  let requeued = 0;
  const kinds: [Extract<AssetKind, 'seed' | 'brand'>, string][] = [
    ['seed', buckets.seed],
    ['brand', buckets.brand],
  ];
  for (const [kind, bucket] of kinds) {
    await store.ensureBucket(bucket);
    let startAfter: string | undefined;
    do {
      const page = await store.list(bucket, '', { limit: 500, ...(startAfter ? { startAfter } : {}) });
      for (const object of page.items) {
        const path = `${bucket}/${object.key}`;
        const assetId = assetIdFor(path);
        if (await index.get(assetId)) continue;
        const m = object.metadata;
        try {
          await bus.publish(AssetTopics.ingestRequested, {
            key: assetId,
            value: {
              assetId,
              tenant: m.tenant || object.key.split('/')[0],
              kind,
              path,
              ...(object.etag ? { contentHash: object.etag } : {}),
              ...(m.caption ? { caption: m.caption } : {}),
              tags: m.tags
                ? m.tags
                    .split(',')
                    .map((t) => t.trim())
                    .filter(Boolean)
                : [],
              source: 'event',
              requestedAt: new Date().toISOString(),
            },
          });
          requeued++;
        } catch (error) {
          // A foreign object whose key or metadata does not make a valid event: say so, go on.
          logger.warn('stored object could not be re-queued', { path, error });
        }
      }
      startAfter = page.nextStartAfter;
    } while (startAfter);
  }
  logger.info(`re-queued ${requeued} stored-but-unindexed assets`, { requeued });
  return requeued;
}
