import { TENANT_HEADER_PATTERN } from '@adseed/contracts';
import { applyDecorators, type Type } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiExtraModels, ApiHeader, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import type { HeaderObject, SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { z } from 'zod';
import { ErrorBody } from './api.dtos';

// The decorators the controllers describe their operations with (@nestjs/swagger): the tenant
// header, the JSON error bodies each route can answer, event streams, uploads and binary content.

/** An error response: its description, and its headers if any. */
type ErrorDoc = string | { description: string; headers: Record<string, HeaderObject> };
/** Error responses by status code. */
export type ErrorDocs = Record<number, ErrorDoc>;

const retryAfter = (description: string): Record<string, HeaderObject> => ({
  'Retry-After': { description, schema: { type: 'integer', minimum: 1 } },
});
const RETRY = 'Seconds to wait before trying again.';

/** What any route can answer: a bad request, authentication, the header limit, the rate limit. */
const COMMON: ErrorDocs = {
  400: 'The request is invalid; `issues` names each bad field and why.',
  401: 'Missing or unknown API key (only when API keys are configured).',
  403: "With API keys configured: `X-Tenant-Id` names another tenant than the key's, or the key lacks the role this needs (`forbidden`).",
  431: "The request line and headers together exceed Node's header limit (16 KB by default): `headers_too_large`, answered before routing.",
  429: {
    description:
      'Over the rate limit (`rate_limited`): a token bucket per API key (per tenant without keys) of `ADSEED_RATE_LIMIT_BURST` requests refilled at `ADSEED_RATE_LIMIT_PER_SECOND`; wait `Retry-After` seconds.',
    headers: retryAfter('Seconds until the next request is accepted.'),
  },
};
/** A route with a body: refused for its size (`ADSEED_MAX_BODY_BYTES`). */
export const BODY: ErrorDocs = { 413: 'The body is larger than allowed (`payload_too_large`).' };
/** A service behind the gateway is restarting or did not answer in time: worth another try. */
export const UPSTREAM: ErrorDocs = {
  503: { description: 'A service this call needs is unavailable (restarting); try again after `Retry-After` seconds.', headers: retryAfter(RETRY) },
  504: {
    description: 'A service this call needs did not answer in time (`upstream_timeout`); try again after `Retry-After` seconds.',
    headers: retryAfter(RETRY),
  },
};
/** Routes whose text reaches a generator or an ad go through the text guardrail first. */
export const MODERATION: ErrorDocs = {
  422: "Rejected by the content policy: `code` is `moderation_rejected`; each issue names the field and the category (`profanity`, `deny_list`, or the moderation endpoint's, e.g. `harassment`). The text itself is never logged.",
  503: 'The configured moderation endpoint cannot answer and the guardrail fails closed (`moderation_unavailable`).',
};
/** The key lacks the role the route needs. */
export const FORBIDDEN: ErrorDocs = { 403: 'The key lacks the role this needs (`forbidden`).' };
/** An event stream on a replica that does not receive updates yet. */
export const EVENTS_UNAVAILABLE: ErrorDocs = {
  503: {
    description:
      'This gateway replica has just started and does not receive updates yet, or is stopping (`events_unavailable`); reconnect after `Retry-After` seconds.',
    headers: retryAfter(RETRY),
  },
};

/**
 * The JSON error bodies (`ErrorBody`) a route answers: the common ones, then each group given, a
 * later group's description replacing an earlier one's for the same status.
 */
export function ApiErrors(...groups: ErrorDocs[]): MethodDecorator & ClassDecorator {
  const docs = groups.reduce<ErrorDocs>((all, group) => ({ ...all, ...group }), COMMON);
  return applyDecorators(
    ...Object.entries(docs).map(([status, doc]) =>
      ApiResponse({ status: Number(status), type: ErrorBody, ...(typeof doc === 'string' ? { description: doc } : doc) }),
    ),
  );
}

/** A JSON response of a zod DTO. */
export const ApiJson = (status: number, type: Type, description: string, headers?: Record<string, HeaderObject>): MethodDecorator & ClassDecorator =>
  ApiResponse({ status, type, description, ...(headers ? { headers } : {}) });

/** `X-Tenant-Id`, on every route of a controller that takes it. */
export const ApiTenantHeader = (): MethodDecorator & ClassDecorator =>
  ApiHeader({
    name: 'x-tenant-id',
    required: false,
    description:
      'The tenant (case-insensitive; absent or empty: the default tenant). With API keys configured, the key decides the tenant and this header may only repeat it (else 403).',
    schema: { type: 'string', pattern: TENANT_HEADER_PATTERN.source },
  });

/**
 * A server-sent event stream of `state` events whose `data` is the JSON of `model` (and `id` grows
 * with every change), resumable with `Last-Event-ID`.
 */
export function ApiStateEvents(model: Type, description: string): MethodDecorator {
  return applyDecorators(
    ApiExtraModels(model),
    ApiHeader({
      name: 'last-event-id',
      required: false,
      description: 'The `id` of the last event the client received (an EventSource sends it when it reconnects): only newer states are sent.',
      schema: { type: 'string' },
    }),
    ApiResponse({
      status: 200,
      description,
      content: {
        'text/event-stream': {
          schema: {
            type: 'object',
            required: ['event', 'data'],
            properties: {
              event: { type: 'string', const: 'state' },
              id: { type: 'string', pattern: '^[0-9]+-[0-9]+$' },
              data: { type: 'string', contentMediaType: 'application/json', contentSchema: { $ref: getSchemaPath(model) } },
            },
          } as SchemaObject,
        },
      },
    }),
  );
}

/** A `multipart/form-data` upload whose parts the zod schema describes (files as `format: binary` strings). */
export const ApiMultipart = (schema: z.ZodType): MethodDecorator =>
  applyDecorators(ApiConsumes('multipart/form-data'), ApiBody({ required: true, schema: jsonSchema(schema) }));

/** Raw bytes of `mediaType` (e.g. `image/*`). */
export const ApiBinary = (status: number, mediaType: string, description: string): MethodDecorator =>
  ApiResponse({ status, description, content: { [mediaType]: { schema: { type: 'string', format: 'binary' } } } });

/** A zod schema as the JSON Schema of an OpenAPI 3.1 document (what the request may contain). */
function jsonSchema(schema: z.ZodType): SchemaObject {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input' });
  return rest as SchemaObject;
}
