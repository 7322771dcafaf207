import { resolve } from 'node:path';
import { RemoteErrorPayload, Queries, queryPath, type QueryDef, type QueryService } from '@adseed/contracts';
import { ServiceError } from '@adseed/messaging';
import { Metadata, status as GrpcStatus, type ServiceError as GrpcServiceError } from '@grpc/grpc-js';
import type { Options } from '@grpc/proto-loader';
import type { z } from 'zod';
import { UpstreamTimeoutError, UpstreamUnavailableError } from './query.port';

/** `proto/` at the repository root (images ship it beside `libs/` and `services/`). */
export const PROTO_DIR = resolve(__dirname, '..', '..', '..', '..', 'proto');

export const PROTO_FILES: Record<QueryService, string> = {
  embedding: 'adseed/embedding/v1/embedding.proto',
  retrieval: 'adseed/retrieval/v1/retrieval.proto',
  agent: 'adseed/agent/v1/agent.proto',
};
export const HEALTH_PROTO = 'grpc/health/v1/health.proto';
export const HEALTH_SERVICE = 'grpc.health.v1.Health';

/**
 * How proto-loader maps messages to objects, at both ends: camelCase names, unset fields absent
 * (every scalar is `optional`, so zeros survive), repeated fields as arrays.
 */
export const LOADER_OPTIONS: Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: false,
  arrays: true,
  objects: false,
  oneofs: false,
  includeDirs: [PROTO_DIR],
};

/** The package name of a service's proto, e.g. `adseed.retrieval.v1`. */
export const packageOf = (service: QueryService): string => `adseed.${service}.v1`;

/** A query's shape on the wire, where it is not the contract's own (vectors, optional lists). */
interface WireCodec {
  replyToWire(reply: unknown): unknown;
  replyFromWire(wire: unknown): unknown;
}

const IDENTITY: WireCodec = { replyToWire: (r) => r, replyFromWire: (w) => w };

type Obj = Record<string, unknown>;
/** Without the keys whose value is undefined (the schema would keep them as present-but-undefined). */
const compact = (o: Obj): Obj => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
const vectorsToWire = (v: unknown) => (Array.isArray(v) ? { vectors: (v as number[][]).map((values) => ({ values })) } : undefined);
const vectorsFromWire = (w: unknown) => (w as { vectors?: { values?: number[] }[] } | undefined)?.vectors?.map((v) => v.values ?? []);
const listToWire = (v: unknown) => (Array.isArray(v) ? { items: v as unknown[] } : undefined);
const listFromWire = (w: unknown) => (w as { items?: unknown[] } | undefined)?.items;

const CODECS: Record<string, WireCodec> = {
  [queryPath(Queries.embedTexts)]: {
    replyToWire: (r) => compact({ ...(r as Obj), clip: vectorsToWire((r as Obj).clip), caption: vectorsToWire((r as Obj).caption) }),
    replyFromWire: (w) => compact({ ...(w as Obj), clip: vectorsFromWire((w as Obj).clip), caption: vectorsFromWire((w as Obj).caption) }),
  },
  [queryPath(Queries.catalogue)]: {
    replyToWire: (r) => compact({ ...(r as Obj), subjects: listToWire((r as Obj).subjects), gaps: listToWire((r as Obj).gaps) }),
    replyFromWire: (w) => compact({ ...(w as Obj), subjects: listFromWire((w as Obj).subjects), gaps: listFromWire((w as Obj).gaps) }),
  },
};
export const codecOf = (query: QueryDef<unknown, unknown>): WireCodec => CODECS[queryPath(query)] ?? IDENTITY;

/** What the wire codec and the proto-coverage spec read of a zod schema's definition. */
export interface ZodDefView {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  options?: z.ZodType[];
  discriminator?: string;
  values?: unknown[];
}
export const defOf = (schema: z.ZodType): ZodDefView => (schema as unknown as { _zod: { def: ZodDefView } })._zod.def;

/**
 * A decoded message as the contract's schema expects it: unset fields stay absent, and an empty
 * repeated field whose schema is optional is absent too (proto3 cannot tell "empty" from "unset").
 * The schema then validates the result as it would any other input.
 */
export function fromWire(schema: z.ZodType, value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  const def = defOf(schema);
  switch (def.type) {
    case 'optional': {
      const inner = fromWire(def.innerType!, value);
      return Array.isArray(inner) && inner.length === 0 ? undefined : inner;
    }
    case 'default':
    case 'prefault':
    case 'nullable':
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      return fromWire(def.innerType!, value);
    case 'pipe':
      return fromWire(def.in!, value);
    case 'array':
      return Array.isArray(value) ? value.map((v) => fromWire(def.element!, v)) : value;
    case 'object': {
      if (typeof value !== 'object') return value;
      const out: Obj = {};
      for (const [key, field] of Object.entries(value as Obj)) {
        const shaped = def.shape?.[key];
        const v = shaped ? fromWire(shaped, field) : field;
        if (v !== undefined) out[key] = v;
      }
      return out;
    }
    case 'union': {
      if (!def.discriminator || typeof value !== 'object') return value;
      const tag = (value as Obj)[def.discriminator];
      const option = def.options?.find((o) => {
        const literal = defOf(o).shape?.[def.discriminator!];
        return literal !== undefined && (defOf(literal).values ?? []).includes(tag);
      });
      return option ? fromWire(option, value) : value;
    }
    default:
      return value;
  }
}

/** HTTP-like statuses of `ServiceError` → gRPC status codes (the exact error travels in metadata). */
export function grpcCodeOf(status: number): GrpcStatus {
  switch (status) {
    case 400:
    case 413:
      return GrpcStatus.INVALID_ARGUMENT;
    case 401:
      return GrpcStatus.UNAUTHENTICATED;
    case 403:
      return GrpcStatus.PERMISSION_DENIED;
    case 404:
      return GrpcStatus.NOT_FOUND;
    case 409:
      return GrpcStatus.ABORTED;
    case 429:
      return GrpcStatus.RESOURCE_EXHAUSTED;
    case 501:
      return GrpcStatus.UNIMPLEMENTED;
    case 503:
      return GrpcStatus.UNAVAILABLE;
    case 504:
      return GrpcStatus.DEADLINE_EXCEEDED;
    default:
      return status >= 400 && status < 500 ? GrpcStatus.FAILED_PRECONDITION : GrpcStatus.INTERNAL;
  }
}

/** Trailing metadata key carrying the `ServiceError` payload (JSON) so 4xx stay 4xx end to end. */
export const ERROR_METADATA = 'adseed-error-bin';

/** What a gRPC handler fails with: grpc-js sends `code`, `details` and `metadata` as the call's status. */
export class GrpcStatusError extends Error {
  constructor(
    readonly code: GrpcStatus,
    readonly details: string,
    readonly metadata = new Metadata(),
  ) {
    super(details);
    this.name = 'GrpcStatusError';
  }
}

/** A handler's `ServiceError` as a gRPC error: status code, message, and the payload in metadata. */
export function toGrpcError(error: ServiceError): GrpcStatusError {
  const metadata = new Metadata();
  metadata.set(ERROR_METADATA, Buffer.from(JSON.stringify(error.toPayload())));
  return new GrpcStatusError(grpcCodeOf(error.status), error.message, metadata);
}

/** A failed call as the caller's `ServiceError`: the server's own error when it sent one. */
export function fromGrpcError(query: QueryDef<unknown, unknown>, error: Partial<GrpcServiceError>, budgetMs: number): ServiceError {
  const raw = error.metadata?.get(ERROR_METADATA)?.[0];
  if (raw !== undefined) {
    try {
      const payload = RemoteErrorPayload.parse(JSON.parse(Buffer.isBuffer(raw) ? raw.toString('utf8') : raw));
      return ServiceError.fromPayload(payload);
    } catch {
      // fall through to the status code
    }
  }
  switch (error.code) {
    case GrpcStatus.UNAVAILABLE:
    case GrpcStatus.CANCELLED:
      return new UpstreamUnavailableError(query, error.details ?? 'unavailable');
    case GrpcStatus.DEADLINE_EXCEEDED:
      return new UpstreamTimeoutError(query, budgetMs);
    case GrpcStatus.INVALID_ARGUMENT:
      return new ServiceError(400, 'validation_failed', error.details ?? 'invalid request');
    case GrpcStatus.NOT_FOUND:
      return new ServiceError(404, 'not_found', error.details ?? 'not found');
    default:
      return new ServiceError(502, 'upstream_error', `${queryPath(query)} failed: ${error.details ?? String(error.code)}`);
  }
}
