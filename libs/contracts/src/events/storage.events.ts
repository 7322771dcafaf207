import { z } from 'zod';
import { defineTopic } from '../topic';

/**
 * What MinIO publishes to its Kafka notification target for bucket events (the S3 event format):
 * `{ EventName, Key, Records: [{ eventName, s3: { bucket: { name }, object: { key, eTag, size,
 * contentType?, userMetadata? } } }] }`. Object keys arrive URL-encoded. Only what we use is
 * validated; unknown fields pass through.
 */
export const StorageObjectEvent = z.object({
  EventName: z.string().optional(),
  Key: z.string().optional(),
  Records: z
    .array(
      z.object({
        eventName: z.string(),
        s3: z.object({
          bucket: z.object({ name: z.string() }),
          object: z.object({
            key: z.string(),
            eTag: z.string().optional(),
            size: z.number().optional(),
            contentType: z.string().optional(),
            userMetadata: z.record(z.string(), z.string()).optional(),
          }),
        }),
      }),
    )
    .min(1),
});
export type StorageObjectEvent = z.infer<typeof StorageObjectEvent>;

export const StorageTopics = {
  /** MinIO's Kafka notification target writes here (`MINIO_NOTIFY_KAFKA_TOPIC_<ID>`). */
  objectEvents: defineTopic('adseed.storage.object-events.v1', StorageObjectEvent, 3),
} as const;
