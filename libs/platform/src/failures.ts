import { ServiceError } from '@adseed/messaging';
import type { Logger } from '@adseed/telemetry';

/** Seconds a caller should wait before retrying after a 503 (`Retry-After`). */
export const RETRY_AFTER_SECONDS = 5;

/** Node's network and filesystem errors that mean "a system we depend on cannot serve now". */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'EACCES',
  'EPERM',
  'EIO',
  'ENOSPC',
  'EROFS',
  'EMFILE',
  'ENFILE',
  'EDQUOT',
  'EBUSY',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  // S3/MinIO answers that are the server's state, not the caller's request
  'ServiceUnavailable',
  'SlowDown',
  'InternalError',
  'XMinioServerNotInitialized',
  'XMinioStorageFull',
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'NoSuchBucket',
]);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'RequestTimeout']);
const TIMEOUT_NAMES = new Set(['TimeoutError', 'AbortError', 'KafkaJSRequestTimeoutError']);
const UNAVAILABLE_NAMES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSBrokerNotFound',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSNonRetriableError',
  'NoHealthyEndpointError',
  'ModerationUnavailableError',
]);

/** The error and its causes, outermost first (bounded: cause chains can be cyclic). */
function* chain(error: unknown): Generator<{ name?: string; code?: unknown; message?: string }> {
  let current = error;
  for (let depth = 0; depth < 8 && current && typeof current === 'object'; depth++) {
    yield current;
    // kafkajs keeps the error it gave up on as `originalError` (older releases) or `cause`.
    current = (current as { cause?: unknown }).cause ?? (current as { originalError?: unknown }).originalError;
  }
}

export type FailureKind = 'timeout' | 'unavailable' | 'internal';

/**
 * Whose fault a failure that is not already a `ServiceError` is: a dependency that timed out,
 * one that cannot serve (refused, unreachable, unreadable, out of space, rejected our
 * credentials), or a bug of ours. Never the caller's: their faults are typed where they are found.
 */
export function classifyFailure(error: unknown): FailureKind {
  // The deepest cause that says what happened wins: "retries exhausted" around a refused
  // connection is unavailable, around a request timeout a timeout.
  let kind: FailureKind = 'internal';
  for (const e of chain(error)) {
    const code = typeof e.code === 'string' ? e.code : undefined;
    if ((code && TIMEOUT_CODES.has(code)) || (e.name && TIMEOUT_NAMES.has(e.name))) kind = 'timeout';
    else if ((code && UNAVAILABLE_CODES.has(code)) || (e.name && UNAVAILABLE_NAMES.has(e.name))) kind = 'unavailable';
    // fetch() wraps the socket's error as its cause; a bare "fetch failed" is still the network.
    else if (e.name === 'TypeError' && e.message === 'fetch failed') kind = 'unavailable';
  }
  return kind;
}

/**
 * Any failure as the `ServiceError` a caller sees: a `ServiceError` stays as it is; a dependency
 * that timed out is `504 upstream_timeout`, one that cannot serve `503 unavailable` (retry
 * later), anything else `500 internal`; the original error stays as its `cause`, for the log.
 */
export function toServiceError(error: unknown, what: string): ServiceError {
  if (error instanceof ServiceError) return error;
  const mapped = ((): ServiceError => {
    switch (classifyFailure(error)) {
      case 'timeout':
        return new ServiceError(504, 'upstream_timeout', `${what}: a system it depends on did not answer in time; retry later`);
      case 'unavailable':
        return new ServiceError(503, 'unavailable', `${what}: a system it depends on cannot serve now; retry later`);
      case 'internal':
        return new ServiceError(500, 'internal', `${what} failed`);
    }
  })();
  // The dependency's own error (addresses, paths) goes to the log, not to the caller.
  Object.defineProperty(mapped, 'cause', { value: error, enumerable: false });
  return mapped;
}

/**
 * Wraps a responder: a dependency that cannot serve or times out becomes `503 unavailable` /
 * `504 upstream_timeout` (logged here with its stack and causes); a `ServiceError` or anything
 * else is rethrown unchanged, for the transport to answer as before.
 */
export function mapInfrastructureFailures<A extends unknown[], R>(
  what: string,
  logger: Logger,
  handler: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      return await handler(...args);
    } catch (error) {
      if (error instanceof ServiceError || classifyFailure(error) === 'internal') throw error;
      const mapped = toServiceError(error, what);
      logger.error(`${what} failed`, { status: mapped.status, code: mapped.code, error });
      throw mapped;
    }
  };
}
