import { AD_FORMAT_SIZES, type AdFormat, type AdRequested } from '@adseed/contracts';

/** One row of a job: a segment with its ranked seeds, or one given seed. */
export interface PlanUnit {
  segment?: string;
  candidates: Array<{ path: string; caption?: string; score?: number; clip?: number; caption_score?: number; rank: number }>;
}

export interface PlanInput {
  jobId: string;
  tenant: string;
  brandPath: string;
  formats: AdFormat[];
  variants: number;
  headline?: string;
  callToAction?: string;
  generator?: 'local' | 'replicate';
  brandKitVersion?: number;
  units: PlanUnit[];
  paths: (index: number, format: AdFormat, variant: number) => { adPath: string; provenancePath: string };
  requestedAt: string;
}

/**
 * Decides every ad of a job: unit × format × variant, in that order. Variants take different
 * seeds from the unit's ranking, best first, and a seed already used in this format (by another
 * variant or segment) is passed over while an unused one remains; when seeds run out, the same
 * seed is taken with its next look (another crop or placement). So no two ads of a job share
 * seed, format and look: no picture is made twice.
 */
export function planJob(input: PlanInput): AdRequested[] {
  const looksUsed = new Map<string, number>();
  const ads: AdRequested[] = [];
  const total = input.units.length * input.formats.length * input.variants;
  for (const unit of input.units) {
    for (const format of input.formats) {
      for (let variant = 1; variant <= input.variants; variant++) {
        const fresh = unit.candidates.find((c) => !looksUsed.has(`${format}|${c.path}`));
        const seed = fresh ?? unit.candidates[(variant - 1) % unit.candidates.length];
        const slot = `${format}|${seed.path}`;
        const look = looksUsed.get(slot) ?? 0;
        looksUsed.set(slot, look + 1);
        const index = ads.length;
        const { width, height } = AD_FORMAT_SIZES[format];
        ads.push({
          jobId: input.jobId,
          tenant: input.tenant,
          index,
          total,
          format,
          width,
          height,
          variant,
          look,
          ...(unit.segment ? { segment: unit.segment } : {}),
          ...(seed.caption ? { subject: seed.caption.slice(0, 500) } : {}),
          seedPath: seed.path,
          ...(seed.score !== undefined
            ? {
                scores: {
                  score: seed.score,
                  rank: seed.rank,
                  ...(seed.clip !== undefined ? { clip: seed.clip } : {}),
                  ...(seed.caption_score !== undefined ? { caption: seed.caption_score } : {}),
                },
              }
            : {}),
          brandPath: input.brandPath,
          ...(input.headline ? { headline: input.headline } : {}),
          ...(input.callToAction ? { callToAction: input.callToAction } : {}),
          ...(input.generator ? { generator: input.generator } : {}),
          ...(input.brandKitVersion !== undefined ? { brandKitVersion: input.brandKitVersion } : {}),
          ...input.paths(index, format, variant),
          requestedAt: input.requestedAt,
        });
      }
    }
  }
  return ads;
}
