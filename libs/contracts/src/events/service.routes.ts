import { z } from 'zod';
import { Conversation } from '../conversation';
import { AssetId, AssetKind, chars, EncoderName, ModelRef, nonBlank, Rights, StoragePath, Tag, Tags, TenantId } from '../common';
import { defineTopic } from '../topic';

const EmbedTexts = z.array(chars(1000).min(1)).min(1).max(256);
export const EmbedTextsRequest = z.object({
  texts: EmbedTexts,
  encoders: z.array(EncoderName).min(1),
  /**
   * What the CLIP tower embeds instead of `texts` (search sends CLIP its "a photo of …" prompt
   * and the caption encoder the bare text): each tower then encodes only the texts it answers.
   */
  clipTexts: EmbedTexts.optional(),
});
export const EmbedTextsReply = z.object({
  clip: z.array(z.array(z.number())).optional(),
  caption: z.array(z.array(z.number())).optional(),
  models: z.object({ clip: ModelRef.optional(), caption: ModelRef.optional() }),
});
export type EmbedTextsRequest = z.infer<typeof EmbedTextsRequest>;
export type EmbedTextsReply = z.infer<typeof EmbedTextsReply>;

export const SearchRequest = z.object({
  tenant: TenantId,
  text: nonBlank(500),
  k: z.number().int().min(1).max(50).default(3),
  kind: AssetKind.default('seed'),
  tagsAll: z.array(Tag).max(16).optional(),
  /** Which encoders' rankings to fuse; both by default. */
  encoders: z.array(EncoderName).min(1).max(2).default(['clip', 'caption']),
  /**
   * Lowers (or raises) the relevance floor for this call: a hit is kept when any encoder's
   * cosine reaches it. Without it, hits under the calibrated floor are never returned.
   */
  minScore: z.number().min(-1).max(1).optional(),
  /** Only seeds usable on this channel (seeds without a channel list are usable everywhere). */
  channel: nonBlank(32).toLowerCase().optional(),
});
export const SearchHit = z.object({
  rank: z.number().int(),
  assetId: z.string(),
  path: StoragePath,
  score: z.number(),
  scores: z.object({ clip: z.number().optional(), caption: z.number().optional() }),
  caption: z.string().optional(),
  tags: z.array(z.string()),
  /** True when no encoder's cosine reaches its calibrated floor (only returned with `minScore`). */
  belowFloor: z.boolean(),
  licence: z.string().optional(),
  attribution: z.string().optional(),
});
/** The calibrated relevance floor per encoder (cosine), as applied to this search. */
export const RelevanceFloor = z.object({ clip: z.number().optional(), caption: z.number().optional() });
export const SearchReply = z.object({
  hits: z.array(SearchHit),
  encoders: z.object({ clip: ModelRef.optional(), caption: ModelRef.optional() }),
  fusion: z.string(),
  floor: RelevanceFloor,
});
export type SearchRequest = z.infer<typeof SearchRequest>;
export type SearchHit = z.infer<typeof SearchHit>;
export type SearchReply = z.infer<typeof SearchReply>;

/** The longest subject a generator takes (a caption used as one is cut to it). */
export const MAX_SUBJECT_CHARS = 200;
export const GenerateAdRequest = z.object({
  tenant: TenantId,
  seedPath: StoragePath,
  brandPath: StoragePath.optional(),
  headline: chars(120).optional(),
  callToAction: chars(40).optional(),
  subject: chars(MAX_SUBJECT_CHARS).optional(),
  segment: chars(500).optional(),
  /** An A/B configuration's choices: which generator must make it, where the pack goes, its size, the prompt template. */
  generator: z.enum(['local', 'replicate']).optional(),
  corner: z.enum(['bottom-left', 'bottom-right', 'top-left', 'top-right']).optional(),
  packScale: z.number().min(0.5).max(1.5).optional(),
  promptTemplate: chars(1000).optional(),
});
export const GenerateAdReply = z.object({
  path: StoragePath,
  seedPath: StoragePath,
  brandPath: StoragePath,
  generator: z.string(),
  width: z.number().int(),
  height: z.number().int(),
  /** Product fidelity score (0-1), when it could be measured. */
  fidelity: z.number().min(0).max(1).optional(),
  /** The tenant's brand-kit version the ad was made with. */
  brandKitVersion: z.number().int().min(1).optional(),
});
export type GenerateAdRequest = z.infer<typeof GenerateAdRequest>;
export type GenerateAdReply = z.infer<typeof GenerateAdReply>;

export const ConversationCommand = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('start'),
    tenant: TenantId,
    segment: nonBlank(500),
    brandPath: StoragePath.optional(),
    headline: chars(120).optional(),
    callToAction: chars(40).optional(),
  }),
  /** A reply may set (or, with an empty string, clear) the headline and call to action of the ad to come. */
  z.object({
    type: z.literal('reply'),
    tenant: TenantId,
    conversationId: z.string().min(1).max(64),
    text: nonBlank(1000),
    headline: chars(120).optional(),
    callToAction: chars(40).optional(),
  }),
  z.object({ type: z.literal('get'), tenant: TenantId, conversationId: z.string().min(1).max(64) }),
  z.object({ type: z.literal('select-seed'), tenant: TenantId, conversationId: z.string().min(1).max(64), index: z.number().int().min(0) }),
]);
export type ConversationCommand = z.infer<typeof ConversationCommand>;

/** One indexed asset by id, as the retrieval service holds it (for REST reads, updates and deletes). */
export const GetAssetRequest = z.object({ tenant: TenantId, assetId: AssetId });
export const IndexedAsset = z.object({
  assetId: AssetId,
  tenant: TenantId,
  kind: AssetKind,
  path: StoragePath,
  caption: z.string().optional(),
  tags: Tags,
  rights: Rights.optional(),
  indexedAt: z.string(),
});
export type IndexedAsset = z.infer<typeof IndexedAsset>;
export const GetAssetReply = z.object({ asset: IndexedAsset.optional() });
export type GetAssetRequest = z.infer<typeof GetAssetRequest>;
export type GetAssetReply = z.infer<typeof GetAssetReply>;

/** Broadcast whenever a conversation changes; the gateway fans it out to SSE clients. */
export const ConversationTopics = {
  updated: defineTopic('adseed.conversation.updated.v1', Conversation, 3),
} as const;
