import { AssetTopics, assetIdFor, TenantId, type AssetKind, type StorageObjectEvent } from '@adseed/contracts';
import type { Buckets } from '@adseed/config';
import { EVENT_BUS, type EventBus } from '@adseed/messaging';
import { BUCKETS, CLOCK, LOGGER, type Clock } from '@adseed/platform';
import type { Logger } from '@adseed/telemetry';
import { Inject, Injectable } from '@nestjs/common';

const IMAGE_KEY = /\.(jpe?g|png|webp)$/i;

/**
 * Turns MinIO bucket notifications into ingest events, so a data team that drops images into
 * the seeds (or brands) bucket triggers indexing with no other call. The tenant is the key's
 * first segment (`<tenant>/…`), as for uploads. Removals and foreign buckets are ignored.
 */
@Injectable()
export class StorageNotificationUseCase {
  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(BUCKETS) private readonly buckets: Buckets,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  async execute(event: StorageObjectEvent): Promise<number> {
    const { buckets, bus, logger } = this;
    let published = 0;
    for (const record of event.Records) {
      if (!record.eventName.startsWith('s3:ObjectCreated:')) continue;
      const bucket = record.s3.bucket.name;
      const kind: AssetKind | undefined = bucket === buckets.seed ? 'seed' : bucket === buckets.brand ? 'brand' : undefined;
      const key = decodeKey(record.s3.object.key);
      if (!kind || !IMAGE_KEY.test(key)) continue;
      const tenant = TenantId.safeParse(key.split('/')[0]);
      if (!tenant.success || !key.includes('/')) {
        logger.warn('ignoring an object outside any tenant prefix', { bucket, key });
        continue;
      }
      const meta = lowerKeys(record.s3.object.userMetadata ?? {});
      const caption = meta['x-amz-meta-caption'] ?? meta['caption'];
      // Metadata values arrive URL-encoded: decode before splitting, or an encoded comma survives.
      const tags = safeDecode(meta['x-amz-meta-tags'] ?? meta['tags'] ?? '')
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean);
      const path = `${bucket}/${key}`;
      const assetId = assetIdFor(path);
      await bus.publish(AssetTopics.ingestRequested, {
        key: assetId,
        value: {
          assetId,
          tenant: tenant.data,
          kind,
          path,
          ...(record.s3.object.eTag ? { contentHash: record.s3.object.eTag } : {}),
          ...(caption ? { caption: safeDecode(caption) } : {}),
          tags,
          source: 'storage-notification',
          requestedAt: this.now().toISOString(),
        },
      });
      published++;
    }
    return published;
  }
}

/** S3 notifications URL-encode keys, with `+` for spaces. */
const decodeKey = (key: string): string => safeDecode(key.replace(/\+/g, ' '));
const safeDecode = (v: string): string => {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
};
const lowerKeys = (r: Record<string, string>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k.toLowerCase(), v]));
