import type { VectorHit, VectorName } from './vector-index/vector-index.port';

export interface FusedHit {
  id: string;
  score: number;
  scores: Partial<Record<VectorName, number>>;
  hit: VectorHit;
}

/**
 * Reciprocal-rank fusion of per-encoder rankings: CLIP image-text cosines (~0.2–0.35) and
 * sentence-encoder cosines (~0.1–0.9) live on different scales, so ranks are fused rather
 * than raw scores. With a single ranking the cosine itself is the score, which reads better.
 * Each hit keeps every encoder's cosine, so callers can see why it ranked where it did.
 */
export function fuseRankings(rankings: Partial<Record<VectorName, VectorHit[]>>, k: number, limit: number): { hits: FusedHit[]; fusion: string } {
  const names = (Object.keys(rankings) as VectorName[]).filter((n) => rankings[n]!.length > 0);
  const byId = new Map<string, FusedHit>();
  for (const name of names) {
    rankings[name]!.forEach((hit, rank) => {
      const entry = byId.get(hit.id) ?? { id: hit.id, score: 0, scores: {}, hit };
      entry.scores[name] = hit.score;
      entry.score += names.length > 1 ? 1 / (k + rank + 1) : hit.score;
      byId.set(hit.id, entry);
    });
  }
  const hits = [...byId.values()].sort((a, b) => b.score - a.score || a.id.localeCompare(b.id)).slice(0, limit);
  const fusion = names.length > 1 ? `rrf(k=${k}) over ${names.join('+')}` : names.length === 1 ? `${names[0]} cosine` : 'none';
  return { hits, fusion };
}
