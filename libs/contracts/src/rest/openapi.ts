import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { ErrorBody } from '../common';
import { Conversation } from '../conversation';
import {
  AssetContentQuery,
  AssetUrlResponse,
  CreateAdBody,
  CreateAdResponse,
  CreateConversationBody,
  ListAssetsQuery,
  ListAssetsResponse,
  SearchBody,
  SearchResponse,
  SelectSeedBody,
  SendMessageBody,
  UploadAssetResponse,
} from './api.dto';
import { registerJobPaths } from '../jobs/jobs.openapi';

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
const errors = {
  400: json(ErrorBody, 'The request is invalid; `issues` names each bad field and why.'),
  401: json(ErrorBody, 'Missing or unknown API key (only when API keys are configured).'),
};

/** Builds the gateway's OpenAPI document from the same zod schemas that validate requests. */
export function buildOpenApiDocument(version = '0.1.0'): ReturnType<OpenApiGeneratorV31['generateDocument']> {
  const r = new OpenAPIRegistry();
  r.registerComponent('securitySchemes', 'apiKey', { type: 'http', scheme: 'bearer' });
  const tenantHeader = z.object({ 'x-tenant-id': z.string().optional() });
  const idParam = z.object({ id: z.string() });

  r.registerPath({
    method: 'post', path: '/v1/assets', tags: ['assets'],
    summary: 'Upload a seed photo or brand image; it is stored and queued for indexing',
    request: {
      headers: tenantHeader,
      body: {
        content: {
          'multipart/form-data': {
            schema: z.object({
              file: z.string().meta({ format: 'binary' }),
              kind: z.enum(['seed', 'brand']).optional(),
              caption: z.string().optional(),
              tags: z.string().optional().meta({ description: 'comma-separated' }),
            }),
          },
        },
      },
    },
    responses: {
      201: json(UploadAssetResponse, 'Stored; an ingest event was published.'),
      ...errors,
      413: json(ErrorBody, 'The file or image is larger than allowed.'),
      415: json(ErrorBody, 'The content is not a supported image (sniffed, not by extension).'),
    },
  });
  r.registerPath({
    method: 'get', path: '/v1/assets', tags: ['assets'], summary: "List the tenant's assets of a kind",
    request: { headers: tenantHeader, query: ListAssetsQuery },
    responses: { 200: json(ListAssetsResponse, 'A page of assets.'), ...errors },
  });
  r.registerPath({
    method: 'get', path: '/v1/assets/content', tags: ['assets'], summary: 'The bytes of an asset or ad, by storage path',
    request: { headers: tenantHeader, query: AssetContentQuery },
    responses: {
      200: { description: 'The image.', content: { 'image/*': { schema: z.string().meta({ format: 'binary' }) } } },
      ...errors,
      404: json(ErrorBody, 'No such object for this tenant.'),
    },
  });
  r.registerPath({
    method: 'get', path: '/v1/assets/url', tags: ['assets'],
    summary: 'A short-lived URL a browser can GET directly (presigned on MinIO; the gateway content URL otherwise)',
    request: { headers: tenantHeader, query: AssetContentQuery },
    responses: { 200: json(AssetUrlResponse, 'The URL and when it expires.'), ...errors, 404: json(ErrorBody, 'No such object for this tenant.') },
  });
  r.registerPath({
    method: 'post', path: '/v1/search', tags: ['search'], summary: 'Top-K seeds for a text (CLIP text tower fused with captions)',
    request: { headers: tenantHeader, body: { content: { 'application/json': { schema: SearchBody } } } },
    responses: { 200: json(SearchResponse, 'Ranked hits with per-encoder scores.'), ...errors },
  });
  r.registerPath({
    method: 'post', path: '/v1/conversations', tags: ['conversations'], summary: 'Start a conversation for a segment; the agent proposes a subject',
    request: { headers: tenantHeader, body: { content: { 'application/json': { schema: CreateConversationBody } } } },
    responses: { 201: json(Conversation, 'The new conversation.'), ...errors },
  });
  r.registerPath({
    method: 'get', path: '/v1/conversations/{id}', tags: ['conversations'], summary: "A conversation's state",
    request: { headers: tenantHeader, params: idParam },
    responses: { 200: json(Conversation, 'The conversation.'), ...errors, 404: json(ErrorBody, 'No such conversation.') },
  });
  r.registerPath({
    method: 'post', path: '/v1/conversations/{id}/messages', tags: ['conversations'],
    summary: 'Reply to the agent: yes / not quite / different subject / show me a <subject>',
    request: { headers: tenantHeader, params: idParam, body: { content: { 'application/json': { schema: SendMessageBody } } } },
    responses: { 200: json(Conversation, 'The conversation after the agent handled the reply.'), ...errors, 404: json(ErrorBody, 'No such conversation.') },
  });
  r.registerPath({
    method: 'post', path: '/v1/conversations/{id}/seed', tags: ['conversations'],
    summary: 'Show one of the seeds already retrieved for the current subject, by index',
    request: { headers: tenantHeader, params: idParam, body: { content: { 'application/json': { schema: SelectSeedBody } } } },
    responses: { 200: json(Conversation, 'The conversation showing that seed.'), ...errors, 404: json(ErrorBody, 'No such conversation.'), 409: json(ErrorBody, 'The conversation is not showing seeds.') },
  });
  r.registerPath({
    method: 'get', path: '/v1/conversations/{id}/events', tags: ['conversations'],
    summary: "Server-sent events: `event: state` with the conversation's JSON on every change",
    request: { headers: tenantHeader, params: idParam },
    responses: { 200: { description: 'An event stream.', content: { 'text/event-stream': { schema: z.string() } } }, 404: json(ErrorBody, 'No such conversation.') },
  });
  r.registerPath({
    method: 'post', path: '/v1/ads', tags: ['ads'], summary: 'Generate an ad directly: from a segment, or from a seed (+ brand) image',
    request: { headers: tenantHeader, body: { content: { 'application/json': { schema: CreateAdBody } } } },
    responses: { 201: json(CreateAdResponse, 'The ad was generated and stored.'), ...errors, 404: json(ErrorBody, 'The seed or brand image does not exist.') },
  });

  registerJobPaths(r, { headers: tenantHeader, errors });

  return new OpenApiGeneratorV31(r.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'adseed gateway API',
      version,
      description: 'Turn an audience segment into an on-brand ad image grounded in real photos.',
    },
    servers: [{ url: '/' }],
    security: [{}, { apiKey: [] }],
  });
}
