import { z } from 'zod';
import {
  AssetKind,
  atLeastOneOf,
  chars,
  EncoderName,
  exactlyOneOf,
  ModelRef,
  MULTIPART_PART_NAMES,
  nonBlank,
  Rights,
  StoragePath,
  Tag,
  TRIMMED,
} from '../common';
import { RelevanceFloor } from '../events/service.routes';
import { StoreCursor } from '../paging';
import { AdReviewMark } from '../governance/governance.dto';

/** REST request/response bodies of the gateway. One schema serves validation, types and OpenAPI. */
export const Asset = z.object({
  id: z.string(),
  tenant: z.string(),
  kind: AssetKind,
  path: StoragePath,
  url: z.string(),
  contentType: z.string(),
  bytes: z.number().int(),
  width: z.number().int().optional(),
  height: z.number().int().optional(),
  caption: z.string().optional(),
  /** The file name as uploaded (NFC); the storage key holds an ASCII slug of it. */
  originalName: z.string().optional(),
  tags: z.array(z.string()),
  rights: Rights.optional(),
  createdAt: z.string(),
  /** `quarantined`: the image guardrail flagged the upload; it is stored but never indexed, served or used. */
  status: z.enum(['active', 'quarantined']).optional(),
  /** The image guardrail's verdict, on quarantined uploads. */
  moderation: z.object({ model: z.string(), reasons: z.array(z.string()), scores: z.record(z.string(), z.number()) }).optional(),
});
export type Asset = z.infer<typeof Asset>;

const commaList = () =>
  chars(2000)
    .optional()
    .transform((s) =>
      s
        ? s
            .split(',')
            .map((t) => t.trim())
            .filter(Boolean)
        : [],
    );

/** Rights as multipart fields (strings): `channels` comma-separated. */
const RightsFields = {
  licence: nonBlank(200).optional(),
  attribution: chars(500).trim().optional(),
  expiresAt: z.iso.datetime({ offset: true }).optional(),
  channels: commaList().pipe(Rights.shape.channels.unwrap()),
};
/** The rights fields given, or undefined when none were. */
export function rightsOf(fields: { licence?: string; attribution?: string; expiresAt?: string; channels?: string[] }): Rights | undefined {
  const rights: Rights = {
    ...(fields.licence ? { licence: fields.licence } : {}),
    ...(fields.attribution ? { attribution: fields.attribution } : {}),
    ...(fields.expiresAt ? { expiresAt: fields.expiresAt } : {}),
    ...(fields.channels?.length ? { channels: fields.channels } : {}),
  };
  return Object.keys(rights).length > 0 ? rights : undefined;
}

/** Multipart fields that accompany the uploaded `file`; any other field is refused (400). */
export const UploadAssetFields = z
  .object({
    kind: z.enum(['seed', 'brand']).default('seed'),
    caption: chars(2000).trim().optional(),
    tags: commaList().pipe(z.array(Tag).max(32)),
    ...RightsFields,
  })
  .strict();
export type UploadAssetFields = z.infer<typeof UploadAssetFields>;

const space = `[${TRIMMED}]`;
/**
 * The multipart body of `POST /v1/assets` as a client sends it (its documentation): the file, and
 * UploadAssetFields as the form's text parts.
 */
export const UploadAssetMultipart = z
  .object({
    file: z.string().min(1).meta({ format: 'binary', description: 'the image (JPEG, PNG or WebP; checked by content)' }),
    kind: z.enum(['seed', 'brand']).optional(),
    caption: chars(2000).optional(),
    tags: chars(2000)
      .regex(/^[^,]{0,64}(,[^,]{0,64}){0,31}$/)
      .optional()
      .meta({ description: 'comma-separated, at most 32 tags of at most 64 characters' }),
    licence: nonBlank(200).optional().meta({ description: 'e.g. "CC BY-SA 4.0" or "owned"; "none" = no usage rights (never returned by search)' }),
    attribution: chars(500).optional(),
    expiresAt: z.iso.datetime({ offset: true }).optional().meta({ description: 'after this, search and the agent never use the asset' }),
    channels: z
      .string()
      .regex(new RegExp(`^${space}*([A-Za-z0-9][A-Za-z0-9_-]{0,31})?${space}*(,${space}*([A-Za-z0-9][A-Za-z0-9_-]{0,31})?${space}*){0,15}$`))
      .optional()
      .meta({ description: 'comma-separated channels the asset may appear on (default: all), at most 16' }),
  })
  .strict()
  .meta(MULTIPART_PART_NAMES);

/** `quarantined`: stored but not indexed (the image guardrail flagged it). */
export const UploadAssetResponse = z.object({ asset: Asset, ingest: z.enum(['queued', 'quarantined']) });
export type UploadAssetResponse = z.infer<typeof UploadAssetResponse>;

export const ListAssetsQuery = z.object({
  kind: AssetKind.default('seed'),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: StoreCursor.optional(),
  /** `quarantined`: uploads the image guardrail flagged, for review. */
  status: z.enum(['active', 'quarantined']).default('active'),
});
export type ListAssetsQuery = z.infer<typeof ListAssetsQuery>;
export const ListAssetsResponse = z.object({ items: z.array(Asset), nextCursor: z.string().optional() });

/** What `PATCH /v1/assets/{id}` may change; the asset is re-embedded and re-indexed. */
export const PatchAssetBody = z
  .object({
    caption: chars(2000).trim().optional(),
    tags: z.array(Tag).max(32).optional(),
    rights: Rights.optional(),
  })
  .refine((b) => b.caption !== undefined || b.tags !== undefined || b.rights !== undefined, {
    message: 'give at least one of caption, tags or rights',
    path: ['caption'],
  })
  .meta(atLeastOneOf(['caption', 'tags', 'rights']));
export type PatchAssetBody = z.infer<typeof PatchAssetBody>;
export const AssetChangeResponse = z.object({ asset: Asset, ingest: z.enum(['queued']) });
export const DeleteAssetResponse = z.object({ deleted: z.object({ id: z.string(), path: StoragePath }) });

export const AssetContentQuery = z.object({ path: StoragePath });
/** The gateway URL that serves an object's bytes (what `url` fields of responses hold). */
export const assetContentUrl = (path: string): string => `/v1/assets/content?path=${encodeURIComponent(path)}`;
export const AssetUrlResponse = z.object({
  url: z.string(),
  /** When the URL stops working; absent for the gateway's own content URL. */
  expiresAt: z.string().optional(),
  presigned: z.boolean(),
});

export const SearchBody = z.object({
  text: nonBlank(500),
  k: z.number().int().min(1).max(50).default(3),
  kind: AssetKind.default('seed'),
  tags: z.array(Tag).max(16).optional(),
  /** Rank with these encoders only (default: CLIP and caption, fused). */
  encoders: z.array(EncoderName).min(1).max(2).optional(),
  /** Return hits down to this cosine (flagged `belowFloor` under the calibrated floor); default: the floor. */
  minScore: z.number().min(-1).max(1).optional(),
  /** Only seeds usable on this channel. */
  channel: nonBlank(32).toLowerCase().optional(),
});
export type SearchBody = z.infer<typeof SearchBody>;
export const SearchResponse = z.object({
  hits: z.array(
    z.object({
      rank: z.number().int(),
      assetId: z.string(),
      path: StoragePath,
      url: z.string(),
      score: z.number(),
      scores: z.object({ clip: z.number().optional(), caption: z.number().optional() }),
      caption: z.string().optional(),
      tags: z.array(z.string()),
      belowFloor: z.boolean(),
      licence: z.string().optional(),
      attribution: z.string().optional(),
    }),
  ),
  encoders: z.object({ clip: ModelRef.optional(), caption: ModelRef.optional() }),
  fusion: z.string(),
  floor: RelevanceFloor,
});

export const CreateConversationBody = z.object({
  segment: nonBlank(500),
  brandPath: StoragePath.optional(),
  /** Set on the ad the conversation ends in (checked by the text guardrail). */
  headline: chars(120).trim().optional(),
  callToAction: chars(40).trim().optional(),
});
/** A reply; `headline` and `callToAction` (e.g. with the confirming "yes") replace the conversation's, an empty string clears one. */
export const SendMessageBody = z.object({
  text: nonBlank(1000),
  headline: chars(120).trim().optional(),
  callToAction: chars(40).trim().optional(),
});
/** Jump to one of the seeds already retrieved for the current subject (no new search). */
export const SelectSeedBody = z.object({ index: z.number().int().min(0).max(49) });

export const CreateAdBody = z
  .object({
    segment: nonBlank(500).optional(),
    seedPath: StoragePath.optional(),
    brandPath: StoragePath.optional(),
    headline: chars(120).trim().optional(),
    callToAction: chars(40).trim().optional(),
  })
  .refine((b) => Boolean(b.segment) !== Boolean(b.seedPath), {
    message: 'give exactly one of segment or seedPath',
    path: ['segment'],
  })
  .meta(exactlyOneOf('segment', 'seedPath'));
export type CreateAdBody = z.infer<typeof CreateAdBody>;
export const CreateAdResponse = z.object({
  ad: z.object({
    path: StoragePath,
    url: z.string(),
    seedPath: StoragePath,
    brandPath: StoragePath,
    generator: z.string(),
    subject: z.string().optional(),
    /** Product fidelity (0-1) when measured. */
    fidelity: z.number().optional(),
    /** The tenant's brand-kit version the ad was made with. */
    brandKitVersion: z.number().int().optional(),
    review: AdReviewMark.optional(),
  }),
});

/** `POST /v1/ads` past `ADSEED_AD_WAIT_MS`: the ad is still being made, at `ad.path` (also the `Location`). */
export const CreateAdPendingResponse = z.object({
  status: z.literal('generating'),
  ad: z.object({ path: StoragePath, url: z.string(), seedPath: StoragePath, subject: z.string().optional() }),
});

export const EncoderStatus = z.object({
  name: EncoderName,
  loaded: z.boolean(),
  model: ModelRef.optional(),
  note: z.string(),
});
export type EncoderStatus = z.infer<typeof EncoderStatus>;
