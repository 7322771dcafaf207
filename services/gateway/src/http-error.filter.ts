import type { ErrorBody } from '@adseed/contracts';
import { ServiceError } from '@adseed/messaging';
import type { ServiceRuntime } from '@adseed/platform';
import { InvalidKeyError, ObjectNotFoundError } from '@adseed/storage';
import { Catch, HttpException, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { ApiError } from './http-errors';

/**
 * Every error leaves the gateway as `{ error: { status, code, message, issues? } }`: what the
 * caller needs to fix the call, never a stack trace.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  constructor(private readonly runtime: ServiceRuntime) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const body = this.toBody(exception);
    if (body.error.status >= 500) this.runtime.logger.error('request failed', { error: exception });
    if (response.headersSent) {
      response.end();
      return;
    }
    // an upstream service unavailable or too slow (503/504 from a query): say when to try again
    const retryAfter = (exception as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
    if (exception instanceof ServiceError && typeof retryAfter === 'number') response.setHeader('Retry-After', String(retryAfter));
    response.status(body.error.status).json(body);
  }

  private toBody(exception: unknown): ErrorBody {
    const error = (status: number, code: string, message: string, issues?: ErrorBody['error']['issues']): ErrorBody => ({
      error: { status, code, message, ...(issues?.length ? { issues } : {}) },
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
    return error(500, 'internal', 'internal error; the request id in the logs tells us more');
  }
}
