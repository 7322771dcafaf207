import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AssetTopics, assetIdFor, type AssetIngestRequested } from '@adseed/contracts';
import type { EventBus } from '@adseed/messaging';
import { Logger } from '@adseed/telemetry';
import { StorageNotificationUseCase } from './storage-notification.use-case';

const NOW = new Date('2026-03-04T05:06:07Z');

function useCaseRecording(published: AssetIngestRequested[]): StorageNotificationUseCase {
  const bus = {
    publish: async (topic: { name: string }, m: { value: AssetIngestRequested }) => {
      assert.equal(topic.name, AssetTopics.ingestRequested.name);
      published.push(m.value);
    },
  } as unknown as EventBus;
  return new StorageNotificationUseCase(
    bus,
    { seed: 'seeds', brand: 'brands', ad: 'ads' },
    new Logger({ service: 'test', level: 'error', sink: () => undefined }),
    () => NOW,
  );
}

const record = (eventName: string, bucket: string, key: string, userMetadata?: Record<string, string>) => ({
  eventName,
  s3: { bucket: { name: bucket }, object: { key, eTag: 'abc', size: 10, ...(userMetadata ? { userMetadata } : {}) } },
});

describe(StorageNotificationUseCase.name, () => {
  it('publishes one ingest event per created image in a seeds or brands bucket, decoding the key', async () => {
    const published: AssetIngestRequested[] = [];
    const n = await useCaseRecording(published).execute({
      Records: [
        record('s3:ObjectCreated:Put', 'seeds', 'acme/summer+2026/golden%20retriever_1.jpg', {
          'X-Amz-Meta-Caption': 'a%20dog',
          'X-Amz-Meta-Tags': 'dog%2Coutdoor',
        }),
        record('s3:ObjectCreated:CompleteMultipartUpload', 'brands', 'acme/pack.png'),
        record('s3:ObjectRemoved:Delete', 'seeds', 'acme/gone.jpg'),
        record('s3:ObjectCreated:Put', 'ads', 'acme/ad.png'),
        record('s3:ObjectCreated:Put', 'seeds', 'acme/readme.txt'),
        record('s3:ObjectCreated:Put', 'seeds', 'NoTenant.jpg'),
      ],
    });
    assert.equal(n, 2);
    assert.deepEqual(
      published.map((p) => [p.path, p.kind, p.tenant]),
      [
        ['seeds/acme/summer 2026/golden retriever_1.jpg', 'seed', 'acme'],
        ['brands/acme/pack.png', 'brand', 'acme'],
      ],
    );
    assert.equal(published[0].assetId, assetIdFor('seeds/acme/summer 2026/golden retriever_1.jpg'), 'same id as an upload of that path');
    assert.equal(published[0].caption, 'a dog');
    assert.deepEqual(published[0].tags, ['dog', 'outdoor']);
    assert.equal(published[0].source, 'storage-notification');
    assert.equal(published[0].requestedAt, NOW.toISOString(), 'the injected clock');
  });
});
