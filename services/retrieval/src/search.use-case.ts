import { ServiceRoutes, type EncoderName, type SearchReply, type SearchRequest } from '@adseed/contracts';
import type { ServiceRuntime } from '@adseed/platform';
import { fuseRankings } from './rank-fusion';
import type { VectorHit, VectorIndex, VectorName } from './vector-index/vector-index.port';

/** CLIP was trained on captions like these; a bare noun phrase matches images less well. */
export const clipPrompt = (text: string): string => (/^(a|an)\s+(photo|picture|image)\b/i.test(text) ? text : `a photo of ${text}`);

/**
 * Retrieve: embeds the text with every loaded text encoder (via the embedding service), queries
 * the index once per encoder with the tenant filter, and fuses the rankings.
 */
export class SearchUseCase {
  constructor(
    private readonly runtime: ServiceRuntime,
    private readonly index: VectorIndex,
    private readonly rrfK: number,
  ) {}

  async execute(request: SearchRequest): Promise<SearchReply> {
    const encoders: EncoderName[] = request.encoders;
    const embedded = await this.runtime.bus.request(ServiceRoutes.embedTexts, {
      key: request.tenant,
      value: { texts: [request.text, clipPrompt(request.text)], encoders },
    });
    const queries: Partial<Record<VectorName, Float32Array>> = {};
    if (embedded.clip) queries.clip = Float32Array.from(embedded.clip[1]);
    if (embedded.caption) queries.caption = Float32Array.from(embedded.caption[0]);

    const filter = { tenant: request.tenant, kind: request.kind, ...(request.tagsAll?.length ? { tagsAll: request.tagsAll } : {}) };
    const candidates = Math.max(request.k * 5, 20);
    const rankings: Partial<Record<VectorName, VectorHit[]>> = {};
    await Promise.all(
      (Object.keys(queries) as VectorName[]).map(async (using) => {
        const hits = await this.index.search({ using, vector: queries[using]!, filter, limit: candidates });
        // A vector from another model version lives in another space: never compare across.
        const model = embedded.models[using];
        const field = using === 'clip' ? 'clipModel' : 'captionModel';
        rankings[using] = model ? hits.filter((h) => h.payload[field] === `${model.id}@${model.version}`) : hits;
      }),
    );
    const { hits, fusion } = fuseRankings(rankings, this.rrfK, request.k);
    return {
      hits: hits.map((h, rank) => ({
        rank,
        assetId: h.id,
        path: h.hit.payload.path,
        score: h.score,
        scores: h.scores,
        ...(h.hit.payload.caption ? { caption: h.hit.payload.caption } : {}),
        tags: h.hit.payload.tags,
      })),
      encoders: embedded.models,
      fusion,
    };
  }
}
