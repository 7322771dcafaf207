import { rightsProblem, Queries, type EncoderName, type Rights, type SearchReply, type SearchRequest } from '@adseed/contracts';
import { CLOCK, QUERY_CLIENT, SERVICE_CONFIG, type Clock, type QueryClient } from '@adseed/platform';
import { Inject, Injectable } from '@nestjs/common';
import { fuseRankings } from './rank-fusion';
import { clearsFloor, type RelevanceFloor } from './relevance-floor';
import type { RetrievalEnv } from './retrieval.env';
import { VECTOR_INDEX } from './vector-index/vector-index.port';
import type { IndexedPayload, VectorHit, VectorIndex, VectorName } from './vector-index/vector-index.port';

/** CLIP was trained on captions like these; a bare noun phrase matches images less well. */
export const clipPrompt = (text: string): string => (/^(a|an)\s+(photo|picture|image)\b/i.test(text) ? text : `a photo of ${text}`);

export interface SearchOptions {
  rrfK: number;
  /** The calibrated floor per encoder. */
  floor: Required<RelevanceFloor>;
  /** A seed without a licence counts as unlicensed. */
  requireLicence: boolean;
}

/** What the search reads of the service's configuration. */
export const searchOptionsOf = (env: RetrievalEnv): SearchOptions => ({
  rrfK: env.ADSEED_RRF_K,
  floor: { clip: env.ADSEED_FLOOR_CLIP, caption: env.ADSEED_FLOOR_CAPTION },
  requireLicence: env.ADSEED_REQUIRE_LICENCE,
});

/** The rights stored with a record (absent on records indexed before rights existed). */
export const rightsOfPayload = (payload: IndexedPayload): Rights | undefined => payload['rights'] as Rights | undefined;

/** How many candidates to ask each encoder for, at most: enough for a page of k after filtering. */
const MAX_CANDIDATES = 1000;

/**
 * Retrieve: embeds the text with every loaded text encoder (via the embedding service), queries
 * the index once per encoder with the tenant filter, drops seeds whose rights forbid use, fuses
 * the rankings, and keeps only hits that clear the relevance floor (or `minScore`).
 */
@Injectable()
export class SearchUseCase {
  private readonly options: SearchOptions;

  constructor(
    @Inject(QUERY_CLIENT) private readonly queries: QueryClient,
    @Inject(VECTOR_INDEX) private readonly index: VectorIndex,
    @Inject(SERVICE_CONFIG) config: RetrievalEnv,
    @Inject(CLOCK) private readonly now: Clock,
  ) {
    this.options = searchOptionsOf(config);
  }

  async execute(request: SearchRequest): Promise<SearchReply> {
    const encoders: EncoderName[] = request.encoders;
    // Each tower embeds only its own text: CLIP the prompt, the caption encoder the bare text.
    const embedded = await this.queries.call(Queries.embedTexts, {
      texts: [request.text],
      encoders,
      ...(encoders.includes('clip') ? { clipTexts: [clipPrompt(request.text)] } : {}),
    });
    const queries: Partial<Record<VectorName, Float32Array>> = {};
    if (embedded.clip) queries.clip = Float32Array.from(embedded.clip[0]);
    if (embedded.caption) queries.caption = Float32Array.from(embedded.caption[0]);

    const floor: RelevanceFloor = {};
    for (const name of Object.keys(queries) as VectorName[]) floor[name] = this.options.floor[name];
    const keep: RelevanceFloor = request.minScore === undefined ? floor : Object.fromEntries(Object.keys(queries).map((n) => [n, request.minScore]));
    const now = this.now();
    const usable = (h: VectorHit) =>
      rightsProblem(rightsOfPayload(h.payload), now, { channel: request.channel, requireLicence: this.options.requireLicence }) === undefined;

    const filter = { tenant: request.tenant, kind: request.kind, ...(request.tagsAll?.length ? { tagsAll: request.tagsAll } : {}) };
    let candidates = Math.max(request.k * 5, 20);
    for (;;) {
      const rankings: Partial<Record<VectorName, VectorHit[]>> = {};
      // Whether asking this index for more could add a hit that clears the floor: only a ranking
      // that filled its page and whose last (lowest) hit still reaches its encoder's floor has
      // such hits deeper down (every deeper hit scores at most that much on that encoder, and a
      // hit clears the floor by one of its own encoder scores). That holds for an exact index
      // (the embedded one); Qdrant's HNSW graph may miss a hit on a page that a larger page's
      // wider search would find, which this no longer asks for.
      let deeperMayClear = false;
      await Promise.all(
        (Object.keys(queries) as VectorName[]).map(async (using) => {
          const hits = await this.index.search({ using, vector: queries[using]!, filter, limit: candidates });
          const lowest = hits.at(-1)?.score;
          const min = keep[using];
          if (hits.length === candidates && lowest !== undefined && min !== undefined && lowest >= min) deeperMayClear = true;
          // A vector from another model version lives in another space: never compare across.
          const model = embedded.models[using];
          const field = using === 'clip' ? 'clipModel' : 'captionModel';
          rankings[using] = (model ? hits.filter((h) => h.payload[field] === `${model.id}@${model.version}`) : hits).filter(usable);
        }),
      );
      const { hits: fused, fusion } = fuseRankings(rankings, this.options.rrfK, Number.MAX_SAFE_INTEGER);
      const kept = fused.filter((h) => clearsFloor(h.scores, keep));
      // Rights or another model version may have dropped hits that clear the floor: ask for more
      // while the index has more that could (hits under the floor are never made up for deeper).
      if (kept.length < request.k && deeperMayClear && candidates < MAX_CANDIDATES) {
        candidates = Math.min(candidates * 4, MAX_CANDIDATES);
        continue;
      }
      return {
        hits: kept.slice(0, request.k).map((h, rank) => {
          const rights = rightsOfPayload(h.hit.payload);
          return {
            rank,
            assetId: h.id,
            path: h.hit.payload.path,
            score: h.score,
            scores: h.scores,
            ...(h.hit.payload.caption ? { caption: h.hit.payload.caption } : {}),
            tags: h.hit.payload.tags,
            belowFloor: !clearsFloor(h.scores, floor),
            ...(rights?.licence ? { licence: rights.licence } : {}),
            ...(rights?.attribution ? { attribution: rights.attribution } : {}),
          };
        }),
        encoders: embedded.models,
        fusion,
        floor,
      };
    }
  }
}
