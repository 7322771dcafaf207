import type { ServiceRuntime } from '@adseed/platform';
import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import type { Request, Response } from 'express';
import { finalize, type Observable } from 'rxjs';

/** Request rate, errors and duration per route template (not per URL: bounded label values). */
export class HttpMetricsInterceptor implements NestInterceptor {
  constructor(private readonly runtime: ServiceRuntime) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    const route = (request.route as { path?: string } | undefined)?.path ?? 'unmatched';
    const end = this.runtime.metrics.httpDuration.startTimer({ route, method: request.method });
    return next.handle().pipe(
      finalize(() => {
        end();
        response.once('finish', () => this.runtime.metrics.httpRequests.inc({ route, method: request.method, status: String(response.statusCode) }));
        if (response.writableFinished) this.runtime.metrics.httpRequests.inc({ route, method: request.method, status: String(response.statusCode) });
      }),
    );
  }
}
