import {
  AssetTopics,
  rightsFromMetadata,
  splitStoragePath,
  vectorToWire,
  type AssetEmbedded,
  type AssetIngestRequested,
  type VectorWireFormat,
} from '@adseed/contracts';
import { EVENT_BUS, PermanentError, type EventBus } from '@adseed/messaging';
import { CLOCK, METRICS, SERVICE_CONFIG, type Clock } from '@adseed/platform';
import { OBJECT_STORE, ObjectNotFoundError, type ObjectStore } from '@adseed/storage';
import type { ServiceMetrics } from '@adseed/telemetry';
import { Inject, Injectable } from '@nestjs/common';
import { captionTextFor } from './caption-text';
import { ENCODERS, type LoadedEncoders } from './encoder-registry';
import type { EmbeddingEnv } from './embedding.env';
import { MicroBatcher, type BatchSlot } from './micro-batcher';
import { SharedTextVectors, TextEmbeddingCache } from './text-embedding.cache';
import { ZeroShotLabeller } from './zero-shot-labeller';

/**
 * Ingest step 2: reads the asset by path from the store, computes its CLIP image vector and its
 * caption vector (batched across concurrent events), and publishes `asset.embedded`.
 */
@Injectable()
export class EmbedAssetUseCase {
  private readonly images?: MicroBatcher<Buffer, Float32Array>;
  private readonly captions?: MicroBatcher<string, Float32Array>;
  private readonly labeller?: ZeroShotLabeller;
  /**
   * Events to handle at once (the consumer's window): twice the encoder batch, so one batch is in
   * the model while the next one fills. One event per partition at a time left batches of ~3 and
   * a serial tail, as the keys spread unevenly over the partitions.
   */
  readonly concurrency: number;
  private readonly vectorFormat: VectorWireFormat;
  /**
   * Caption vectors by text: a library's captions repeat (tags only, a product line's shared
   * description, a photo set's shared subject), and the caption encoder gives one text one vector
   * (it runs each text alone), so a repeat needs no model run. Kept apart from the query cache: a
   * bulk ingest of distinct captions must not evict the searches' texts. Identical captions in
   * flight share one run.
   */
  private readonly captionVectors: SharedTextVectors;

  constructor(
    @Inject(ENCODERS) private readonly encoders: LoadedEncoders,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(METRICS) metrics: ServiceMetrics,
    @Inject(SERVICE_CONFIG) env: EmbeddingEnv,
    @Inject(CLOCK) private readonly now: Clock,
  ) {
    this.concurrency = 2 * env.ADSEED_ENCODER_BATCH_SIZE;
    this.vectorFormat = env.ADSEED_EVENT_VECTORS;
    this.captionVectors = new SharedTextVectors(new TextEmbeddingCache(env.ADSEED_TEXT_CACHE_SIZE));
    const options = (tower: string) => ({
      maxBatch: env.ADSEED_ENCODER_BATCH_SIZE,
      maxWaitMs: env.ADSEED_ENCODER_BATCH_WAIT_MS,
      // A full batch may be decoded while another is in the model; a partial one waits for an
      // idle encoder and so collects what arrives meanwhile (see MicroBatcher).
      maxInFlight: 2,
      // Each event announces its image and caption before reading the object: a partial batch
      // starts beside a running one once every event in flight has handed its item over.
      announced: true,
      onBatch: (size: number, seconds: number) => {
        metrics.encoderBatchSize.observe({ tower }, size);
        metrics.encoderLatency.observe({ tower }, seconds);
      },
    });
    const clip = encoders.clip;
    const caption = encoders.caption;
    if (clip) this.images = new MicroBatcher((bytes) => clip.embedImages(bytes), options('clip-image'));
    if (caption) this.captions = new MicroBatcher((texts) => caption.embedTexts(texts), options('caption'));
    if (clip && env.ADSEED_ZERO_SHOT_LABELS.length > 0) {
      this.labeller = new ZeroShotLabeller(clip, env.ADSEED_ZERO_SHOT_LABELS, env.ADSEED_ZERO_SHOT_MIN_SCORE, env.ADSEED_ZERO_SHOT_TOP);
    }
  }

  async execute(event: AssetIngestRequested): Promise<AssetEmbedded> {
    const imageSlot = this.images?.reserve();
    const captionSlot = this.captions?.reserve();
    try {
      return await this.embed(event, imageSlot, captionSlot);
    } finally {
      imageSlot?.release();
      captionSlot?.release();
    }
  }

  private async embed(
    event: AssetIngestRequested,
    imageSlot?: BatchSlot<Buffer, Float32Array>,
    captionSlot?: BatchSlot<string, Float32Array>,
  ): Promise<AssetEmbedded> {
    const { bucket, key } = splitStoragePath(event.path);
    // taken before the read: a deletion after it may have been of the object read here
    const requestedAt = event.requestedAt ?? this.now().toISOString();
    let object;
    try {
      object = await this.store.get(bucket, key);
    } catch (error) {
      // A notification can outrun the object's visibility: let the bus retry, then dead-letter.
      if (error instanceof ObjectNotFoundError) throw new Error(`object ${event.path} not found`);
      throw error;
    }
    const caption = event.caption ?? object.info.metadata['caption'];
    const tags = event.tags.length ? event.tags : splitTags(object.info.metadata['tags']);
    const rights = event.rights ?? rightsFromMetadata(object.info.metadata);
    const originalName = object.info.metadata['originalname'];
    const captionText = captionTextFor({ caption, tags, path: event.path, ...(originalName ? { originalName } : {}) });
    // Nothing to caption: give the slot back now, not after the image, or caption batches wait for it.
    if (!captionText) captionSlot?.release();

    const [clipVector, captionVector] = await Promise.all([
      imageSlot?.add(object.body).catch((error: Error) => {
        throw new PermanentError(`cannot embed image ${event.path}: ${error.message}`, error);
      }),
      captionText && captionSlot ? this.captionVector(captionText, captionSlot) : undefined,
    ]);
    if (!clipVector && !captionVector) {
      throw new PermanentError(`nothing to embed for ${event.path}: no CLIP encoder loaded and no caption, tags or descriptive file name`);
    }
    const labels = clipVector && this.labeller && event.kind === 'seed' ? (await this.labeller.label(clipVector)).map((l) => l.label) : [];
    const { clip, caption: captionEncoder } = this.encoders;
    const embedded: AssetEmbedded = {
      assetId: event.assetId,
      tenant: event.tenant,
      kind: event.kind,
      path: event.path,
      contentHash: event.contentHash ?? object.info.etag,
      // the event carries at most what its schema allows (a long caption plus tags can exceed it)
      caption: (caption ?? captionText)?.slice(0, 2000),
      tags,
      ...(rights ? { rights } : {}),
      ...(labels.length ? { labels } : {}),
      vectors: {
        ...(clipVector ? { clip: vectorToWire(clipVector, this.vectorFormat) } : {}),
        ...(captionVector ? { caption: vectorToWire(captionVector, this.vectorFormat) } : {}),
      },
      models: {
        ...(clipVector && clip ? { clip: { id: clip.info.modelId, version: clip.info.modelVersion } } : {}),
        ...(captionVector && captionEncoder ? { caption: { id: captionEncoder.info.modelId, version: captionEncoder.info.modelVersion } } : {}),
      },
      requestedAt,
      embeddedAt: this.now().toISOString(),
    };
    await this.bus.publish(AssetTopics.embedded, { key: event.assetId, value: embedded });
    return embedded;
  }

  /** The caption's vector from the cache, from an identical caption in flight, or from the model. */
  private captionVector(text: string, slot: BatchSlot<string, Float32Array>): Promise<Float32Array> {
    const { modelId, modelVersion } = this.encoders.caption!.info;
    const { vector, source } = this.captionVectors.get(TextEmbeddingCache.key(modelId, modelVersion, text), () => slot.add(text));
    // not needed: give the slot back at once so the batch it was announced to can start
    if (source !== 'miss') slot.release();
    return vector;
  }
}

const splitTags = (raw?: string): string[] =>
  raw
    ? raw
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean)
    : [];
