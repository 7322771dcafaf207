import { z } from 'zod';
import { StoragePath, TenantId } from '../common';
import { BrandKitUse } from '../brand-kit/brand-kit';
import { AdFormat } from './ad-format';

const Rect = z.object({ left: z.number().int(), top: z.number().int(), width: z.number().int(), height: z.number().int() });

/**
 * How intact the brand pack is in the ad (1 = as supplied): mean local SSIM of the cut-out's
 * grey levels against the matched region × colour agreement. `located`: where the generator said
 * it put the pack, or found by multi-scale template matching.
 */
export const ProductFidelity = z.object({
  score: z.number().min(0).max(1),
  structure: z.number(),
  colour: z.number(),
  located: z.enum(['placement', 'search']),
  region: Rect,
});
export type ProductFidelity = z.infer<typeof ProductFidelity>;

/**
 * The record written beside every job ad (`provenancePath`): where the picture came from, under
 * which licence, made by which generator, from which request. Readable through
 * `GET /v1/assets/content?path=<provenancePath>`.
 */
export const AdProvenance = z.object({
  schema: z.literal('adseed.ad-provenance.v1'),
  ad: z.object({
    path: StoragePath,
    format: AdFormat,
    width: z.number().int(),
    height: z.number().int(),
    index: z.number().int(),
    variant: z.number().int(),
    look: z.number().int(),
    sha256: z.string(),
  }),
  job: z.object({ id: z.string(), tenant: TenantId }),
  segment: z.string().optional(),
  subject: z.string().optional(),
  seed: z.object({
    path: StoragePath,
    licence: z.string().optional(),
    attribution: z.string().optional(),
    width: z.number().int().optional(),
    height: z.number().int().optional(),
    /** How much the seed was enlarged to fill the format (1 = not at all). */
    upscale: z.number().optional(),
    /** The region of the seed that became the ad, in seed pixels. */
    crop: Rect.optional(),
  }),
  brand: z.object({ path: StoragePath, placement: Rect.optional() }),
  generator: z.object({ name: z.string(), model: z.string(), version: z.string() }),
  prompt: z.string().optional(),
  /** The brand kit the headline, call to action and logo were set with. */
  brandKit: BrandKitUse.optional(),
  headline: z.string().optional(),
  callToAction: z.string().optional(),
  scores: z.object({ score: z.number(), clip: z.number().optional(), caption: z.number().optional(), rank: z.number().int() }).optional(),
  warnings: z.array(z.string()),
  /** Product fidelity; absent when it could not be measured (see `warnings`). */
  fidelity: ProductFidelity.optional(),
  traceId: z.string().optional(),
  /** Which process rendered it (service, host, pid): shows replicas sharing a job's work. */
  renderedBy: z.object({ service: z.string(), host: z.string(), pid: z.number().int() }).optional(),
  createdAt: z.string(),
});
export type AdProvenance = z.infer<typeof AdProvenance>;
