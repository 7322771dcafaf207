import type { EmbedTextsReply, EmbedTextsRequest } from '@adseed/contracts';
import { METRICS, SERVICE_CONFIG } from '@adseed/platform';
import type { ServiceMetrics } from '@adseed/telemetry';
import { Inject, Injectable } from '@nestjs/common';
import { CachedTextEncoder } from './cached-text.encoder';
import type { EmbeddingEnv } from './embedding.env';
import { ENCODERS, type LoadedEncoders } from './encoder-registry';
import { TextEmbeddingCache } from './text-embedding.cache';

export interface EmbedTextsOptions {
  /** Text embeddings kept (both towers together); 0 turns the cache off. */
  readonly cacheEntries: number;
  /** Texts per model run. */
  readonly maxBatch: number;
  /** How long an idle model waits for more texts before a run (0: same event-loop turn only). */
  readonly batchWindowMs: number;
}

/** What the query path reads of the service's configuration. */
export const embedTextsOptionsOf = (env: EmbeddingEnv): EmbedTextsOptions => ({
  cacheEntries: env.ADSEED_TEXT_CACHE_SIZE,
  maxBatch: env.ADSEED_ENCODER_BATCH_SIZE,
  batchWindowMs: env.ADSEED_TEXT_BATCH_WAIT_MS,
});

/**
 * Text → vectors with each requested encoder that is loaded (absent ones are left out). The
 * query path: repeated texts come from the cache, concurrent ones share batched model runs.
 */
@Injectable()
export class EmbedTextsUseCase {
  private readonly clip?: CachedTextEncoder;
  private readonly caption?: CachedTextEncoder;

  constructor(@Inject(ENCODERS) encoders: LoadedEncoders, @Inject(METRICS) metrics: ServiceMetrics, @Inject(SERVICE_CONFIG) config: EmbeddingEnv) {
    const options = embedTextsOptionsOf(config);
    const cache = new TextEmbeddingCache(options.cacheEntries);
    const batching = (tower: string) => ({
      maxBatch: options.maxBatch,
      windowMs: options.batchWindowMs,
      onBatch: (size: number, seconds: number) => {
        metrics.encoderBatchSize.observe({ tower }, size);
        metrics.encoderLatency.observe({ tower }, seconds);
      },
    });
    if (encoders.clip) this.clip = new CachedTextEncoder(encoders.clip, cache, batching('clip-text'));
    if (encoders.caption) this.caption = new CachedTextEncoder(encoders.caption, cache, batching('caption'));
  }

  async execute(request: EmbedTextsRequest): Promise<EmbedTextsReply> {
    const reply: EmbedTextsReply = { models: {} };
    const clip = request.encoders.includes('clip') ? this.clip : undefined;
    const caption = request.encoders.includes('caption') ? this.caption : undefined;
    // Both towers at once: they are separate models with separate queues.
    const [clipVectors, captionVectors] = await Promise.all([clip?.embedTexts(request.clipTexts ?? request.texts), caption?.embedTexts(request.texts)]);
    if (clip && clipVectors) {
      reply.clip = clipVectors.map((v) => Array.from(v));
      reply.models.clip = { id: clip.info.modelId, version: clip.info.modelVersion };
    }
    if (caption && captionVectors) {
      reply.caption = captionVectors.map((v) => Array.from(v));
      reply.models.caption = { id: caption.info.modelId, version: caption.info.modelVersion };
    }
    return reply;
  }
}
