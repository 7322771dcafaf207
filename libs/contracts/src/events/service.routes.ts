import { z } from 'zod';
import { Conversation } from '../conversation';
import { AssetId, AssetKind, EncoderName, ModelRef, Rights, StoragePath, Tag, Tags, TenantId } from '../common';
import { defineTopic } from '../topic';

export const EmbedTextsRequest = z.object({
  texts: z.array(z.string().min(1).max(1000)).min(1).max(256),
  encoders: z.array(EncoderName).min(1),
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
  text: z.string().trim().min(1).max(500),
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
  channel: z.string().trim().toLowerCase().min(1).max(32).optional(),
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

export const GenerateAdRequest = z.object({
  tenant: TenantId,
  seedPath: StoragePath,
  brandPath: StoragePath.optional(),
  headline: z.string().max(120).optional(),
  callToAction: z.string().max(40).optional(),
  subject: z.string().max(200).optional(),
  segment: z.string().max(500).optional(),
  /** An A/B configuration's choices: which generator must make it, where the pack goes, its size, the prompt template. */
  generator: z.enum(['local', 'replicate']).optional(),
  corner: z.enum(['bottom-left', 'bottom-right', 'top-left', 'top-right']).optional(),
  packScale: z.number().min(0.5).max(1.5).optional(),
  promptTemplate: z.string().max(1000).optional(),
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
});
export type GenerateAdRequest = z.infer<typeof GenerateAdRequest>;
export type GenerateAdReply = z.infer<typeof GenerateAdReply>;

export const ConversationCommand = z.discriminatedUnion('type', [
  z.object({ type: z.literal('start'), tenant: TenantId, segment: z.string().trim().min(1).max(500), brandPath: StoragePath.optional() }),
  z.object({ type: z.literal('reply'), tenant: TenantId, conversationId: z.string().min(1).max(64), text: z.string().trim().min(1).max(1000) }),
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
