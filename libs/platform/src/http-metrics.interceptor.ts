import type { ServiceRuntime } from './service-runtime';
import { httpServerSpanOf, runAsService, SERVICE_ATTRIBUTE } from '@adseed/telemetry';
import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import type { Request, Response } from 'express';
import { finalize, type Observable } from 'rxjs';

/**
 * Request rate, errors and duration per route template (not per URL: bounded label values). The
 * SERVER span is the HTTP instrumentation's (continuing the caller's W3C trace context): here it
 * is named after the same route template and tagged with the service, and the handler runs as
 * that service.
 */
export class HttpMetricsInterceptor implements NestInterceptor {
  constructor(private readonly runtime: ServiceRuntime) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    const route = (request.route as { path?: string } | undefined)?.path ?? 'unmatched';
    const end = this.runtime.metrics.httpDuration.startTimer({ route, method: request.method });
    httpServerSpanOf(request)
      ?.updateName(`${request.method} ${route}`)
      .setAttributes({ 'http.route': route, [SERVICE_ATTRIBUTE]: this.runtime.service });
    // Nest binds the handler's async context when `handle()` is called: call it as the service.
    return runAsService(this.runtime.service, () => next.handle()).pipe(
      finalize(() => {
        end();
        response.once('finish', () => this.runtime.metrics.httpRequests.inc({ route, method: request.method, status: String(response.statusCode) }));
        if (response.writableFinished) this.runtime.metrics.httpRequests.inc({ route, method: request.method, status: String(response.statusCode) });
      }),
    );
  }
}
