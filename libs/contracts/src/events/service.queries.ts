import { z } from 'zod';
import { Conversation } from '../conversation';
import { CatalogueCommand, CatalogueReply } from '../subjects';
import { ConversationCommand, EmbedTextsReply, EmbedTextsRequest, GetAssetReply, GetAssetRequest, SearchReply, SearchRequest } from './service.routes';

/** The services that answer queries (each serves its gRPC package `adseed.<service>.v1`). */
export type QueryService = 'embedding' | 'retrieval' | 'agent';

/**
 * A query a caller waits on: one gRPC method (`proto/adseed/<service>/v1/<service>.proto`) in
 * the multi-process deployment, a direct call in the one-process mode. Request and reply are
 * validated at both ends against these schemas, whichever transport carries them.
 */
export interface QueryDef<Req, Res> {
  readonly service: QueryService;
  /** Fully qualified gRPC service, e.g. `adseed.retrieval.v1.Retrieval`. */
  readonly grpcService: string;
  readonly method: string;
  readonly request: z.ZodType<Req>;
  readonly reply: z.ZodType<Res>;
  /**
   * The most this query may take (the timeout chain, configured here once): a call gets
   * `min(now + timeoutMs, the caller's own deadline - a hop margin)`, so an inner call always
   * ends before the outer one and the outer one can still answer with a proper error.
   */
  readonly timeoutMs: number;
  /** Safe to send again: only these are retried on UNAVAILABLE (a conversation reply is not). */
  readonly idempotent: boolean;
}

function defineQuery<Req extends z.ZodType, Res extends z.ZodType>(
  service: QueryService,
  grpcService: string,
  method: string,
  request: Req,
  reply: Res,
  options: { timeoutMs: number; idempotent: boolean },
): QueryDef<z.infer<Req>, z.infer<Res>> {
  return { service, grpcService, method, request: request as z.ZodType<z.infer<Req>>, reply: reply as z.ZodType<z.infer<Res>>, ...options };
}

/**
 * Every query between services. The chain: a gateway request (conversation 30 s) → the agent's
 * search (10 s) → retrieval's text embedding (5 s); each inner call also stays inside what is
 * left of the outer one's deadline.
 */
export const Queries = {
  embedTexts: defineQuery('embedding', 'adseed.embedding.v1.Embedding', 'EmbedTexts', EmbedTextsRequest, EmbedTextsReply, {
    timeoutMs: 5_000,
    idempotent: true,
  }),
  search: defineQuery('retrieval', 'adseed.retrieval.v1.Retrieval', 'Search', SearchRequest, SearchReply, { timeoutMs: 10_000, idempotent: true }),
  getAsset: defineQuery('retrieval', 'adseed.retrieval.v1.Retrieval', 'GetAsset', GetAssetRequest, GetAssetReply, { timeoutMs: 5_000, idempotent: true }),
  conversation: defineQuery('agent', 'adseed.agent.v1.Agent', 'Converse', ConversationCommand, Conversation, { timeoutMs: 30_000, idempotent: false }),
  catalogue: defineQuery('agent', 'adseed.agent.v1.Agent', 'Catalogue', CatalogueCommand, CatalogueReply, { timeoutMs: 30_000, idempotent: false }),
} as const;

export const queryPath = (query: QueryDef<unknown, unknown>): string => `/${query.grpcService}/${query.method}`;
