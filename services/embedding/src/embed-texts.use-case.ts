import type { EmbedTextsReply, EmbedTextsRequest } from '@adseed/contracts';
import type { ServiceRuntime } from '@adseed/platform';
import type { LoadedEncoders } from './encoder-registry';

/** Text → vectors with each requested encoder that is loaded (absent ones are left out). */
export class EmbedTextsUseCase {
  constructor(
    private readonly runtime: ServiceRuntime,
    private readonly encoders: LoadedEncoders,
  ) {}

  async execute(request: EmbedTextsRequest): Promise<EmbedTextsReply> {
    const reply: EmbedTextsReply = { models: {} };
    const { clip, caption } = this.encoders;
    if (request.encoders.includes('clip') && clip) {
      reply.clip = (await this.timed('clip-text', () => clip.embedTexts(request.texts))).map((v) => Array.from(v));
      reply.models.clip = { id: clip.info.modelId, version: clip.info.modelVersion };
    }
    if (request.encoders.includes('caption') && caption) {
      reply.caption = (await this.timed('caption', () => caption.embedTexts(request.texts))).map((v) => Array.from(v));
      reply.models.caption = { id: caption.info.modelId, version: caption.info.modelVersion };
    }
    return reply;
  }

  private async timed<T>(tower: string, fn: () => Promise<T>): Promise<T> {
    const end = this.runtime.metrics.encoderLatency.startTimer({ tower });
    try {
      return await fn();
    } finally {
      end();
    }
  }
}
