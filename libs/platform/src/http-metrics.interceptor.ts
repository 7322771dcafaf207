import type { ServiceRuntime } from './service-runtime';
import { extractTraceContext, startSpan } from '@adseed/telemetry';
import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import type { Request, Response } from 'express';
import { finalize, type Observable } from 'rxjs';

/**
 * Request rate, errors and duration per route template (not per URL: bounded label values), and
 * a SERVER span per request that continues the caller's W3C trace context if it sent one.
 */
export class HttpMetricsInterceptor implements NestInterceptor {
  constructor(private readonly runtime: ServiceRuntime) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    const route = (request.route as { path?: string } | undefined)?.path ?? 'unmatched';
    const end = this.runtime.metrics.httpDuration.startTimer({ route, method: request.method });
    const span = startSpan(
      `${request.method} ${route}`,
      { 'http.request.method': request.method, 'http.route': route, 'url.path': request.path, 'user_agent.original': request.get('user-agent') },
      { kind: 'server', service: this.runtime.service, parent: extractTraceContext(request.headers) },
    );
    // Ends when the response is really over (errors are written later by the exception filter;
    // an SSE stream lasts until the client leaves).
    response.once('close', () => {
      const status = response.statusCode;
      span.end({ 'http.response.status_code': status }, status >= 500 ? new Error(`HTTP ${status}`) : undefined);
    });
    // Nest binds the handler's async context when `handle()` is called: call it inside the span.
    return span.run(() => next.handle()).pipe(
      finalize(() => {
        end();
        response.once('finish', () => this.runtime.metrics.httpRequests.inc({ route, method: request.method, status: String(response.statusCode) }));
        if (response.writableFinished) this.runtime.metrics.httpRequests.inc({ route, method: request.method, status: String(response.statusCode) });
      }),
    );
  }
}
