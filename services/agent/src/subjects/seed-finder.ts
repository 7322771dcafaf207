import { assetContentUrl, Queries, type SearchHit } from '@adseed/contracts';
import { QUERY_CLIENT, type QueryClient } from '@adseed/platform';
import { Inject, Injectable } from '@nestjs/common';
import type { SeedHit } from '../policy/conversation.model';

export interface FoundSeeds {
  /** only seeds that clear the relevance floor, best first */
  seeds: (SeedHit & { assetId: string })[];
  /** the best cosine any seed reached, under the floor or not (for the seed-gap report) */
  bestScore?: number;
  /** every seed retrieval ranked, under the floor too (evidence for ranking subjects, never shown) */
  ranked: { assetId: string }[];
}

const bestCosine = (h: SearchHit): number => Math.max(...Object.values(h.scores).filter((s): s is number => s !== undefined));

export interface FindOptions {
  /**
   * The seeds of the catalogue subject being retrieved (its caption or tags name it): relevant by
   * the library's own word, so they are shown even when the encoders score them under the floor,
   * and ahead of seeds that merely clear it.
   */
  members?: ReadonlyMap<string, string>;
  encoders?: ('clip' | 'caption')[];
  /** show only the members, in the order the search ranks them (the text is then the segment, not the subject) */
  onlyMembers?: boolean;
}

/**
 * The agent's one way to retrieve: asks the retrieval service for the top seeds including those
 * under the floor (so a gap can say how close the library came), and keeps only those above it
 * (or members of the subject).
 */
@Injectable()
export class SeedFinder {
  constructor(@Inject(QUERY_CLIENT) private readonly queries: QueryClient) {}

  async find(tenant: string, text: string, k: number, options: FindOptions = {}): Promise<FoundSeeds> {
    const members = options.members ?? new Map<string, string>();
    // fused ranks may put a seed under the floor above one that clears it: ask for more than k
    const reply = await this.queries.call(Queries.search, {
      tenant,
      text,
      k: Math.min(Math.max(k * 3, 10), 50),
      kind: 'seed',
      encoders: options.encoders ?? ['clip', 'caption'],
      minScore: -1,
    });
    const scored = reply.hits.map(bestCosine).filter(Number.isFinite);
    const ofSubject = reply.hits.filter((h) => members.has(h.assetId));
    const found = options.onlyMembers ? [] : reply.hits.filter((h) => !members.has(h.assetId) && !h.belowFloor);
    // members the search did not rank (a big subject): still the subject's own photos
    const ranked = new Set(reply.hits.map((h) => h.assetId));
    const unranked = [...members]
      .filter(([id]) => !ranked.has(id))
      .map(([assetId, path]): SearchHit => ({ rank: 0, assetId, path, score: 0, scores: {}, tags: [], belowFloor: true }));
    const seeds = [...ofSubject, ...found, ...unranked].slice(0, k).map((h, rank) => ({
      rank,
      assetId: h.assetId,
      path: h.path,
      url: assetContentUrl(h.path),
      score: h.score,
      ...(h.caption ? { caption: h.caption } : {}),
      ...(h.licence ? { licence: h.licence } : {}),
      ...(h.attribution ? { attribution: h.attribution } : {}),
    }));
    return { seeds, ranked: reply.hits.map((h) => ({ assetId: h.assetId })), ...(scored.length ? { bestScore: Math.max(...scored) } : {}) };
  }
}
