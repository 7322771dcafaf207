import { z } from 'zod';
import { StoragePath, TenantId } from './common';
import { AdReviewMark } from './governance/governance.dto';

export const SeedHit = z.object({
  rank: z.number().int().min(0),
  assetId: z.string(),
  path: StoragePath,
  url: z.string(),
  score: z.number(),
  caption: z.string().optional(),
  licence: z.string().optional(),
  attribution: z.string().optional(),
});
export type SeedHit = z.infer<typeof SeedHit>;

export const ConversationStatus = z.enum(['awaiting-subject', 'awaiting-seed', 'generating', 'done', 'failed']);
export type ConversationStatus = z.infer<typeof ConversationStatus>;

export const ChatMessage = z.object({ role: z.enum(['agent', 'user']), text: z.string(), at: z.string() });
export type ChatMessage = z.infer<typeof ChatMessage>;

export const Conversation = z.object({
  id: z.string(),
  tenant: TenantId,
  segment: z.string(),
  status: ConversationStatus,
  subject: z.object({ name: z.string(), reason: z.string() }).optional(),
  seeds: z.array(SeedHit),
  seedIndex: z.number().int().min(0),
  currentSeed: SeedHit.optional(),
  rejectedSubjects: z.array(z.string()),
  /** The ad, with the seed's licence and attribution so whoever publishes it can credit it. */
  ad: z
    .object({
      path: StoragePath,
      url: z.string(),
      seedPath: StoragePath.optional(),
      licence: z.string().optional(),
      attribution: z.string().optional(),
      review: AdReviewMark.optional(),
    })
    .optional(),
  messages: z.array(ChatMessage),
  brandPath: StoragePath.optional(),
  /** Text the ad will carry, set when the conversation starts or with a reply. */
  headline: z.string().optional(),
  callToAction: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Conversation = z.infer<typeof Conversation>;
