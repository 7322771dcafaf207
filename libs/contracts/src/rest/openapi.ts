import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { chars, ErrorBody, nonBlank, TRIMMED } from '../common';
import { Conversation } from '../conversation';
import { CreateSubjectBody, ListSubjectsQuery, ListSubjectsResponse, PatchSubjectBody, SeedGapsQuery, SeedGapsResponse, SubjectResponse } from '../subjects';
import {
  AssetChangeResponse,
  AssetContentQuery,
  AssetUrlResponse,
  CreateAdBody,
  CreateAdPendingResponse,
  CreateAdResponse,
  CreateConversationBody,
  DeleteAssetResponse,
  ListAssetsQuery,
  ListAssetsResponse,
  PatchAssetBody,
  SearchBody,
  SearchResponse,
  SelectSeedBody,
  SendMessageBody,
  UploadAssetResponse,
} from './api.dto';
import { AdFormat } from '../jobs/ad-format';
import { MAX_ADS_PER_JOB, MAX_VARIANTS } from '../jobs/jobs.dto';
import { registerJobPaths } from '../jobs/jobs.openapi';
import { registerGovernancePaths } from '../governance/governance.openapi';
import { registerBrandKitPaths } from '../brand-kit/brand-kit.openapi';

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});
/** What the gateway accepts in `X-Tenant-Id` before lower-casing it (`TenantId` after). */
export const TENANT_HEADER_PATTERN = /^([A-Za-z0-9][A-Za-z0-9-]{0,62})?$/;
/** A JSON request body; every JSON body of the API is required. */
const jsonBody = <T extends z.ZodType>(schema: T) => ({ required: true, content: { 'application/json': { schema } } });
const errors = {
  400: json(ErrorBody, 'The request is invalid; `issues` names each bad field and why.'),
  401: json(ErrorBody, 'Missing or unknown API key (only when API keys are configured).'),
  403: json(ErrorBody, "With API keys configured: `X-Tenant-Id` names another tenant than the key's, or the key lacks the role this needs (`forbidden`)."),
  431: json(ErrorBody, "The request line and headers together exceed Node's header limit (16 KB by default): `headers_too_large`, answered before routing."),
  429: {
    ...json(
      ErrorBody,
      'Over the rate limit (`rate_limited`): a token bucket per API key (per tenant without keys) of `ADSEED_RATE_LIMIT_BURST` requests refilled at `ADSEED_RATE_LIMIT_PER_SECOND`; wait `Retry-After` seconds.',
    ),
    headers: { 'Retry-After': { description: 'Seconds until the next request is accepted.', schema: { type: 'integer' as const, minimum: 1 } } },
  },
};
/** A service behind the gateway is restarting or did not answer in time: worth another try. */
const retryAfter = { 'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'integer' as const, minimum: 1 } } };
const upstream = {
  503: { ...json(ErrorBody, 'A service this call needs is unavailable (restarting); try again after `Retry-After` seconds.'), headers: retryAfter },
  504: {
    ...json(ErrorBody, 'A service this call needs did not answer in time (`upstream_timeout`); try again after `Retry-After` seconds.'),
    headers: retryAfter,
  },
};
/** Routes whose text reaches a generator or an ad go through the text guardrail first. */
const moderation = {
  422: json(
    ErrorBody,
    "Rejected by the content policy: `code` is `moderation_rejected`; each issue names the field and the category (`profanity`, `deny_list`, or the moderation endpoint's, e.g. `harassment`). The text itself is never logged.",
  ),
  503: json(ErrorBody, 'The configured moderation endpoint cannot answer and the guardrail fails closed (`moderation_unavailable`).'),
};

/** Builds the gateway's OpenAPI document from the same zod schemas that validate requests. */
export function buildOpenApiDocument(version = '0.1.0'): ReturnType<OpenApiGeneratorV31['generateDocument']> {
  const r = new OpenAPIRegistry();
  r.registerComponent('securitySchemes', 'apiKey', { type: 'http', scheme: 'bearer' });
  const tenantHeader = z.object({
    'x-tenant-id': z.string().regex(TENANT_HEADER_PATTERN).optional().meta({
      description:
        'The tenant (case-insensitive; absent or empty: the default tenant). With API keys configured, the key decides the tenant and this header may only repeat it (else 403).',
    }),
  });
  const idParam = z.object({ id: z.string() });
  const space = `[${TRIMMED}]`;
  const lastEventIdHeader = z
    .string()
    .optional()
    .meta({ description: 'The `id` of the last event the client received (an EventSource sends it when it reconnects): only newer states are sent.' });

  r.registerPath({
    method: 'post',
    path: '/v1/assets',
    tags: ['assets'],
    summary: 'Upload a seed photo or brand image; it is stored and queued for indexing',
    request: {
      headers: tenantHeader,
      body: {
        required: true,
        content: {
          'multipart/form-data': {
            schema: z
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
              .strict(),
          },
        },
      },
    },
    responses: {
      201: json(
        UploadAssetResponse,
        'Stored; an ingest event was published (`ingest: queued`), or, with the image guardrail on and the image flagged, kept in quarantine and not indexed (`ingest: quarantined`, `asset.moderation` says why).',
      ),
      ...errors,
      ...moderation,
      413: json(ErrorBody, 'The file or image is larger than allowed.'),
      415: json(ErrorBody, 'The content is not a supported image (sniffed, not by extension).'),
    },
  });
  r.registerPath({
    method: 'get',
    path: '/v1/assets',
    tags: ['assets'],
    summary: "List the tenant's assets of a kind (`status=quarantined`: the uploads the image guardrail flagged)",
    request: { headers: tenantHeader, query: ListAssetsQuery },
    responses: { 200: json(ListAssetsResponse, 'A page of assets.'), ...errors },
  });
  r.registerPath({
    method: 'get',
    path: '/v1/assets/content',
    tags: ['assets'],
    summary: 'The bytes of an asset or ad, by storage path',
    request: { headers: tenantHeader, query: AssetContentQuery },
    responses: {
      200: { description: 'The image.', content: { 'image/*': { schema: z.string().meta({ format: 'binary' }) } } },
      ...errors,
      404: json(ErrorBody, 'No such object for this tenant.'),
    },
  });
  r.registerPath({
    method: 'get',
    path: '/v1/assets/url',
    tags: ['assets'],
    summary: 'A short-lived URL a browser can GET directly (presigned on MinIO; the gateway content URL otherwise)',
    request: { headers: tenantHeader, query: AssetContentQuery },
    responses: { 200: json(AssetUrlResponse, 'The URL and when it expires.'), ...errors, 404: json(ErrorBody, 'No such object for this tenant.') },
  });
  const assetIdParam = z.object({ id: z.string().meta({ description: "the asset's id (from upload, list or search)" }) });
  r.registerPath({
    method: 'patch',
    path: '/v1/assets/{id}',
    tags: ['assets'],
    summary: "Change an asset's caption, tags or rights; it is re-embedded and re-indexed",
    request: { headers: tenantHeader, params: assetIdParam, body: jsonBody(PatchAssetBody) },
    responses: {
      202: json(AssetChangeResponse, 'Stored; an ingest event was published.'),
      ...errors,
      404: json(ErrorBody, 'No such (indexed) asset for this tenant.'),
      ...moderation,
    },
  });
  r.registerPath({
    method: 'delete',
    path: '/v1/assets/{id}',
    tags: ['assets'],
    summary: 'Delete an asset: the object now; its vectors and subject membership from the event that follows',
    request: { headers: tenantHeader, params: assetIdParam },
    responses: { 200: json(DeleteAssetResponse, 'Deleted.'), ...errors, 404: json(ErrorBody, 'No such (indexed) asset for this tenant.') },
  });
  r.registerPath({
    method: 'get',
    path: '/v1/subjects',
    tags: ['subjects'],
    summary: "The tenant's subjects: from its captions and tags (near duplicates merged), zero-shot labels, or added by name",
    request: { headers: tenantHeader, query: ListSubjectsQuery },
    responses: { 200: json(ListSubjectsResponse, 'Subjects, most seeds first.'), ...errors },
  });
  r.registerPath({
    method: 'post',
    path: '/v1/subjects',
    tags: ['subjects'],
    summary: 'Add a subject by name: accepted only if retrieval finds seeds above the relevance floor',
    request: { headers: tenantHeader, body: jsonBody(CreateSubjectBody) },
    responses: {
      201: json(SubjectResponse, 'The subject.'),
      ...errors,
      ...moderation,
      422: json(
        ErrorBody,
        '`no_matching_seeds`: nothing in the library clears the floor for this name (recorded as a seed gap); or `moderation_rejected`: the content policy rejected a field (`issues` name the field and category).',
      ),
    },
  });
  r.registerPath({
    method: 'patch',
    path: '/v1/subjects/{id}',
    tags: ['subjects'],
    summary: "Edit a subject's description (the agent's reason), audience, or disable it",
    request: { headers: tenantHeader, params: z.object({ id: z.string() }), body: jsonBody(PatchSubjectBody) },
    responses: { 200: json(SubjectResponse, 'The subject.'), ...errors, 404: json(ErrorBody, 'No such subject.'), ...moderation },
  });
  r.registerPath({
    method: 'get',
    path: '/v1/reports/seed-gaps',
    tags: ['reports'],
    summary: 'Photos your library is missing: segments and subjects nothing cleared the relevance floor for',
    request: { headers: tenantHeader, query: SeedGapsQuery },
    responses: { 200: json(SeedGapsResponse, 'Gaps, most frequent first.'), ...errors },
  });
  r.registerPath({
    method: 'post',
    path: '/v1/search',
    tags: ['search'],
    summary: 'Top-K seeds for a text (CLIP text tower fused with captions)',
    request: { headers: tenantHeader, body: jsonBody(SearchBody) },
    responses: { 200: json(SearchResponse, 'Ranked hits with per-encoder scores.'), ...errors, ...upstream },
  });
  r.registerPath({
    method: 'post',
    path: '/v1/conversations',
    tags: ['conversations'],
    summary: 'Start a conversation for a segment; the agent proposes a subject',
    request: { headers: tenantHeader, body: jsonBody(CreateConversationBody) },
    responses: {
      201: json(Conversation, 'The new conversation.'),
      ...errors,
      404: json(ErrorBody, '`brandPath` names no brand image of this tenant (a path outside the brands bucket included).'),
      ...moderation,
    },
  });
  r.registerPath({
    method: 'get',
    path: '/v1/conversations/{id}',
    tags: ['conversations'],
    summary: "A conversation's state",
    request: { headers: tenantHeader, params: idParam },
    responses: { 200: json(Conversation, 'The conversation.'), ...errors, 404: json(ErrorBody, 'No such conversation.') },
  });
  r.registerPath({
    method: 'post',
    path: '/v1/conversations/{id}/messages',
    tags: ['conversations'],
    summary: 'Reply to the agent: yes / not quite / different subject / show me a <subject>',
    request: { headers: tenantHeader, params: idParam, body: jsonBody(SendMessageBody) },
    responses: {
      200: json(Conversation, 'The conversation after the agent handled the reply.'),
      ...errors,
      404: json(ErrorBody, 'No such conversation.'),
      ...moderation,
    },
  });
  r.registerPath({
    method: 'post',
    path: '/v1/conversations/{id}/seed',
    tags: ['conversations'],
    summary: 'Show one of the seeds already retrieved for the current subject, by index',
    request: { headers: tenantHeader, params: idParam, body: jsonBody(SelectSeedBody) },
    responses: {
      200: json(Conversation, 'The conversation showing that seed.'),
      ...errors,
      404: json(ErrorBody, 'No such conversation.'),
      409: json(
        ErrorBody,
        'The conversation is not showing seeds (`not_showing_seeds`), or the current subject has no seed at this index (`seed_out_of_range`).',
      ),
    },
  });
  r.registerPath({
    method: 'get',
    path: '/v1/conversations/{id}/events',
    tags: ['conversations'],
    summary: "Server-sent events: `event: state` with the conversation's JSON on every change",
    request: { headers: tenantHeader.extend({ 'last-event-id': lastEventIdHeader }), params: idParam },
    responses: {
      200: {
        description:
          "An event stream: `retry:` (the reconnection delay in ms) first, then one `state` event (`data`: the conversation's JSON, `id`: `<message count>-<updatedAt in epoch ms>`, growing with every change) now and on every change; comment lines keep the connection alive. " +
          'With `Last-Event-ID` the current state is sent only if it is newer than that id, so a client that reconnects (an EventSource does so by itself) catches up with what changed while it was away and gets no state twice.',
        content: { 'text/event-stream': { schema: z.string() } },
      },
      ...errors,
      404: json(ErrorBody, 'No such conversation.'),
      503: {
        ...json(
          ErrorBody,
          'This gateway replica has just started and does not receive updates yet (`events_unavailable`); reconnect after `Retry-After` seconds.',
        ),
        headers: retryAfter,
      },
    },
  });
  r.registerPath({
    method: 'post',
    path: '/v1/ads',
    tags: ['ads'],
    summary: 'Generate an ad directly: from a segment, or from a seed (+ brand) image',
    request: { headers: tenantHeader, body: jsonBody(CreateAdBody) },
    description:
      'Generation is an event (`adseed.generation.single-ad-requested.v1`): the request waits for its outcome at most ' +
      '`ADSEED_AD_WAIT_MS` (60 s). Past that it answers 202 with the path the ad will have; `Location` is its content URL, ' +
      '404 until the ad is stored.',
    responses: {
      201: json(CreateAdResponse, 'The ad was generated and stored.'),
      202: {
        ...json(CreateAdPendingResponse, 'The ad is still being made; it will be at `ad.path`.'),
        headers: {
          Location: { description: 'The content URL of the ad (`/v1/assets/content?path=…`), 404 until it is stored.', schema: { type: 'string' as const } },
        },
      },
      ...errors,
      404: json(ErrorBody, 'The seed or brand image does not exist (a `brandPath` outside the brands bucket names no brand image).'),
      ...moderation,
    },
  });

  registerJobPaths(r, { headers: tenantHeader, errors });
  registerGovernancePaths(r, { headers: tenantHeader, errors });
  registerBrandKitPaths(r, { headers: tenantHeader, errors });

  const document = new OpenApiGeneratorV31(r.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'adseed gateway API',
      version,
      description: 'Turn an audience segment into an on-brand ad image grounded in real photos.',
    },
    servers: [{ url: '/' }],
    security: [{}, { apiKey: [] }],
  });
  describeWhatZodRefinesCannotSay(document);
  documentBodyLimit(document);
  return document;
}

type OpenApiDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>;

/** Every operation with a body can be refused for its size (`ADSEED_MAX_BODY_BYTES`, the upload limit for files). */
function documentBodyLimit(document: OpenApiDocument): void {
  const tooLarge = {
    description: 'The body is larger than allowed (`payload_too_large`).',
    content: { 'application/json': { schema: errorBodySchema(document) } },
  };
  for (const item of Object.values(document.paths ?? {})) {
    for (const method of ['post', 'put', 'patch'] as const) {
      const operation = item?.[method];
      if (operation?.requestBody && operation.responses && !operation.responses['413']) operation.responses['413'] = tooLarge;
    }
  }
}

/** The error body's schema as the generator rendered it (the 400 of a listing). */
function errorBodySchema(document: OpenApiDocument): unknown {
  const response: unknown = document.paths?.['/v1/assets']?.get?.responses?.['400'];
  const schema = (response as { content?: Record<string, { schema?: unknown }> } | undefined)?.content?.['application/json']?.schema;
  if (!schema) throw new Error('OpenAPI: no error body on GET /v1/assets');
  return schema;
}
type JsonSchemaObject = Record<string, unknown>;

/**
 * zod-to-openapi renders an object's fields but not its `.refine()` rules, nor the shape of each
 * server-sent event; those are written here, on the generated document, so the served spec says
 * what the server enforces.
 */
function describeWhatZodRefinesCannotSay(document: OpenApiDocument): void {
  const operation = (path: string, method: 'get' | 'post' | 'patch') => {
    const found = document.paths?.[path]?.[method];
    if (!found) throw new Error(`OpenAPI: no ${method.toUpperCase()} ${path}`);
    return found;
  };
  const jsonBodySchema = (path: string, method: 'post' | 'patch'): JsonSchemaObject => {
    const body = operation(path, method).requestBody;
    const schema = body && 'content' in body ? body.content['application/json']?.schema : undefined;
    if (!schema) throw new Error(`OpenAPI: no JSON body on ${method.toUpperCase()} ${path}`);
    return schema as JsonSchemaObject;
  };
  const atLeastOne = (fields: string[]) => ({ anyOf: fields.map((field) => ({ required: [field] })) });
  // PatchAssetBody / PatchSubjectBody: at least one change.
  Object.assign(jsonBodySchema('/v1/assets/{id}', 'patch'), atLeastOne(['caption', 'tags', 'rights']));
  Object.assign(jsonBodySchema('/v1/subjects/{id}', 'patch'), atLeastOne(['description', 'audience', 'disabled']));
  // CreateAdBody: exactly one of segment or seedPath.
  Object.assign(jsonBodySchema('/v1/ads', 'post'), {
    oneOf: [
      { required: ['segment'], not: { required: ['seedPath'] } },
      { required: ['seedPath'], not: { required: ['segment'] } },
    ],
  });
  // ReviewDecisionBody: a rejection needs a reason.
  Object.assign(jsonBodySchema('/v1/ads/{id}/review', 'post'), { anyOf: [{ properties: { decision: { const: 'approve' } } }, { required: ['reason'] }] });
  // CreateJobBody: exactly one of segments or seedPaths; formats not repeated; at most
  // MAX_ADS_PER_JOB ads, i.e. (segments or seedPaths) × formats × variants. The product is spelled
  // out as one rule per number of formats and variants whose limit binds: with at least f formats
  // and v variants, at most ⌊MAX_ADS_PER_JOB / (f·v)⌋ segments or seeds (an absent `variants` is 1;
  // the rules of the actual f and v are the tightest that apply).
  const job = jsonBodySchema('/v1/jobs', 'post') as JsonSchemaObject & { properties: Record<string, JsonSchemaObject & { maxItems?: number }> };
  job.properties['formats'] = { ...job.properties['formats'], uniqueItems: true };
  const longest = Math.max(job.properties['segments']?.maxItems ?? 0, job.properties['seedPaths']?.maxItems ?? 0);
  const products: JsonSchemaObject[] = [];
  for (let formats = 1; formats <= AdFormat.options.length; formats++) {
    for (let variants = 1; variants <= MAX_VARIANTS; variants++) {
      const most = Math.floor(MAX_ADS_PER_JOB / (formats * variants));
      if (most >= longest) continue;
      products.push({
        if: { properties: { formats: { minItems: formats }, variants: { minimum: variants } }, ...(variants > 1 ? { required: ['variants'] } : {}) },
        then: { properties: { segments: { maxItems: most }, seedPaths: { maxItems: most } } },
      });
    }
  }
  Object.assign(job, {
    oneOf: [
      { required: ['segments'], not: { required: ['seedPaths'] } },
      { required: ['seedPaths'], not: { required: ['segments'] } },
    ],
    allOf: products,
  });
  // Multipart: every part has a plain name (busboy rejects a nameless or malformed part header).
  for (const path of ['/v1/assets', '/v1/brand-kit/font']) {
    const upload = operation(path, 'post').requestBody;
    const multipart = upload && 'content' in upload ? upload.content['multipart/form-data']?.schema : undefined;
    if (!multipart) throw new Error(`OpenAPI: no multipart body on POST ${path}`);
    Object.assign(multipart, { propertyNames: { pattern: '^[A-Za-z0-9_.-]+$' } });
  }
  // Each server-sent event: `event: state`, `data` the conversation's JSON.
  const responseContent = (path: string, status: string): Record<string, { schema?: unknown }> => {
    const response: unknown = operation(path, 'get').responses?.[status];
    const content = (response as { content?: Record<string, { schema?: unknown }> } | undefined)?.content;
    if (!content) throw new Error(`OpenAPI: no ${status} content on GET ${path}`);
    return content;
  };
  const stateEvent = (contentSchema: unknown) => ({
    type: 'object',
    required: ['event', 'data'],
    properties: {
      event: { type: 'string', const: 'state' },
      id: { type: 'string', pattern: '^[0-9]+-[0-9]+$' },
      data: { type: 'string', contentMediaType: 'application/json', contentSchema },
    },
  });
  const conversationSchema = responseContent('/v1/conversations/{id}', '200')['application/json']?.schema;
  const stream = responseContent('/v1/conversations/{id}/events', '200')['text/event-stream'];
  if (!conversationSchema || !stream) throw new Error('OpenAPI: the event stream or the conversation is missing');
  stream.schema = stateEvent(conversationSchema);
  // A job's stream: `event: state`, `data` the job's JSON (as `job` in GET /v1/jobs/{id}).
  const jobSchema = (responseContent('/v1/jobs/{id}', '200')['application/json']?.schema as { properties?: Record<string, unknown> } | undefined)?.properties?.[
    'job'
  ];
  const jobStream = responseContent('/v1/jobs/{id}/events', '200')['text/event-stream'];
  if (!jobSchema || !jobStream) throw new Error('OpenAPI: the job event stream or the job is missing');
  jobStream.schema = stateEvent(jobSchema);
}
