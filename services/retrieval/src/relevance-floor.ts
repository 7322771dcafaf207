import type { VectorName } from './vector-index/vector-index.port';

/**
 * Cosines below which a seed is not relevant to a text, per encoder, for the default models.
 * `caption`: all-MiniLM-L6-v2, calibrated by `scripts/calibrate-floor.js` on matching vs
 * non-matching (subject, caption) pairs (README, "Relevance floor"). `clip`: ViT-B/32 image-text
 * cosines of matching pairs sit around 0.25–0.35 and of unrelated pairs around 0.10–0.20; the
 * weights cannot be fetched here, so this default is not calibrated on our data — re-run the
 * script with the weights present and set ADSEED_FLOOR_CLIP.
 */
export const RELEVANCE_FLOOR_DEFAULTS: Readonly<Record<VectorName, number>> = { clip: 0.24, caption: 0.55 };

export type RelevanceFloor = Partial<Record<VectorName, number>>;

/** A hit clears the floor when any encoder that scored it reaches that encoder's floor. */
export function clearsFloor(scores: Partial<Record<VectorName, number>>, floor: RelevanceFloor): boolean {
  return (Object.keys(scores) as VectorName[]).some((name) => {
    const score = scores[name];
    const min = floor[name];
    return score !== undefined && min !== undefined && score >= min;
  });
}
