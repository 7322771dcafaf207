import type { ErrorBody } from '@adseed/contracts';
import { ServiceError } from '@adseed/messaging';
import { RETRY_AFTER_SECONDS, requestIdOf, toServiceError, LOGGER } from '@adseed/platform';
import { InvalidKeyError, ObjectNotFoundError } from '@adseed/storage';
import { Catch, HttpException, Inject, Injectable, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Logger } from '@adseed/telemetry';
import { ApiError } from './http-errors';

type Failure = Omit<ErrorBody['error'], 'requestId'>;

/**
 * Every error leaves the gateway as `{ error: { status, code, message, issues?, requestId } }`:
 * what the caller needs to fix the call, never a stack trace; `requestId` (also the
 * `X-Request-Id` header) finds the request's log lines. The caller's faults are 4xx; a
 * dependency that cannot serve is `503 unavailable` (or `504 upstream_timeout`) with
 * `Retry-After`, never a 4xx; anything else is a 500, logged with its stack and causes.
 */
@Catch()
@Injectable()
export class HttpErrorFilter implements ExceptionFilter {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    const failure = this.toFailure(exception);
    const requestId = requestIdOf(request, response);
    if (failure.status >= 500) {
      this.logger.error('request failed', {
        requestId,
        status: failure.status,
        code: failure.code,
        method: request.method,
        route: (request.route as { path?: string } | undefined)?.path,
        error: exception,
      });
    }
    if (response.headersSent) {
      response.end();
      return;
    }
    if (failure.status === 503 || failure.status === 504) response.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
    const body: ErrorBody = { error: { ...failure, requestId } };
    response.status(failure.status).json(body);
  }

  private toFailure(exception: unknown): Failure {
    const error = (status: number, code: string, message: string, issues?: Failure['issues']): Failure => ({
      status,
      code,
      message,
      ...(issues?.length ? { issues } : {}),
    });
    if (exception instanceof ApiError || exception instanceof ServiceError) {
      return error(exception.status, exception.code, exception.message, exception.issues);
    }
    if (exception instanceof InvalidKeyError) return error(400, 'invalid_path', exception.message, [{ field: 'path', reason: exception.message }]);
    if (exception instanceof ObjectNotFoundError) return error(404, 'not_found', 'no such object', [{ field: 'path', reason: 'not found' }]);
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const raw = exception.getResponse();
      const given = typeof raw === 'string' ? raw : (raw as { message?: unknown }).message;
      const message = typeof given === 'string' ? given : Array.isArray(given) ? given.map(String).join(', ') : exception.message;
      const code = status === 404 ? 'not_found' : status === 413 ? 'payload_too_large' : status === 400 ? 'bad_request' : `http_${status}`;
      return error(status, code, status === 413 ? `${message}: the body or file is larger than allowed` : message);
    }
    const typeError = exception as { type?: string; status?: number; message?: string };
    if (typeError?.type === 'entity.parse.failed') return error(400, 'invalid_json', 'the body is not valid JSON');
    if (typeError?.type === 'entity.too.large') return error(413, 'payload_too_large', 'the JSON body is larger than allowed');
    // Not the caller's: a dependency that refused, timed out or is out of space, or a bug.
    const mapped = toServiceError(exception, 'the request');
    return error(mapped.status, mapped.code, mapped.status === 500 ? 'internal error; quote the requestId to us' : mapped.message);
  }
}
