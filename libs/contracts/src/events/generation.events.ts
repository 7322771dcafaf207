import { z } from 'zod';
import { RemoteErrorPayload, defineTopic } from '../topic';
import { GenerateAdReply, GenerateAdRequest } from './service.routes';

/** Who waits for a single ad: `POST /v1/ads`, a conversation's "yes", or an A/B experiment. */
export const SingleAdOrigin = z.enum(['direct', 'conversation', 'experiment']);

/**
 * One ad outside a job (generation is long work, so it is an event, never a query a caller
 * waits on). Key: the conversation id for a conversation (its outcomes in order), else the
 * request id. The ad is written to `<ads bucket>/<tenant>/<day of requestedAt>/<requestId>.png`
 * (`singleAdKey`), so a redelivery overwrites the same object and a caller knows the path ahead.
 */
export const SingleAdRequested = z.object({
  requestId: z.uuid(),
  origin: SingleAdOrigin,
  conversationId: z.string().min(1).max(64).optional(),
  request: GenerateAdRequest,
  requestedAt: z.iso.datetime(),
});
export type SingleAdRequested = z.infer<typeof SingleAdRequested>;

/** The outcome: the ad, or the error a caller would have got (4xx: the request's fault). Same key as the request. */
export const SingleAdCompleted = z.object({
  requestId: z.uuid(),
  origin: SingleAdOrigin,
  tenant: z.string(),
  conversationId: z.string().min(1).max(64).optional(),
  seedPath: z.string(),
  ad: GenerateAdReply.optional(),
  error: RemoteErrorPayload.optional(),
  completedAt: z.string(),
});
export type SingleAdCompleted = z.infer<typeof SingleAdCompleted>;

export const GenerationTopics = {
  singleAdRequested: defineTopic('adseed.generation.single-ad-requested.v1', SingleAdRequested, 6),
  singleAdCompleted: defineTopic('adseed.generation.single-ad-completed.v1', SingleAdCompleted, 6),
} as const;

/** The object key (in the ads bucket) of a single ad: derived from the request, so it is known before the ad exists. */
export const singleAdKey = (tenant: string, requestedAt: string, requestId: string): string => `${tenant}/${requestedAt.slice(0, 10)}/${requestId}.png`;
