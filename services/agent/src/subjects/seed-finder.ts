import { assetContentUrl, ServiceRoutes, type SearchHit } from '@adseed/contracts';
import type { EventBus } from '@adseed/messaging';
import type { SeedHit } from '../policy/conversation.model';

export interface FoundSeeds {
  /** only seeds that clear the relevance floor, best first */
  seeds: (SeedHit & { assetId: string })[];
  /** the best cosine any seed reached, under the floor or not (for the seed-gap report) */
  bestScore?: number;
}

const bestCosine = (h: SearchHit): number => Math.max(...Object.values(h.scores).filter((s): s is number => s !== undefined));

/**
 * The agent's one way to retrieve: asks the retrieval service for the top seeds including those
 * under the floor (so a gap can say how close the library came), and keeps only those above it.
 */
export class SeedFinder {
  constructor(private readonly bus: EventBus) {}

  async find(tenant: string, text: string, k: number): Promise<FoundSeeds> {
    const reply = await this.bus.request(ServiceRoutes.search, {
      key: `${tenant}:${text}`,
      // fused ranks may put a seed under the floor above one that clears it: ask for more than k
      value: { tenant, text, k: Math.min(Math.max(k * 3, 10), 50), kind: 'seed', encoders: ['clip', 'caption'], minScore: -1 },
    });
    const scored = reply.hits.map(bestCosine).filter(Number.isFinite);
    const seeds = reply.hits
      .filter((h) => !h.belowFloor)
      .slice(0, k)
      .map((h, rank) => ({
        rank,
        assetId: h.assetId,
        path: h.path,
        url: assetContentUrl(h.path),
        score: h.score,
        ...(h.caption ? { caption: h.caption } : {}),
        ...(h.licence ? { licence: h.licence } : {}),
        ...(h.attribution ? { attribution: h.attribution } : {}),
      }));
    return { seeds, ...(scored.length ? { bestScore: Math.max(...scored) } : {}) };
  }
}
