import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { RUNTIME, type ServiceRuntime } from './service-runtime';

/** A scrape waits this long for fresh consumer lag, then serves the last values it has. */
const LAG_WAIT_MS = 2_000;

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4';

/** Who may scrape: `protect` is set by a service whose metrics name tenants once API keys are on (the gateway). */
export interface MetricsAccessOptions {
  protect?: boolean;
}
export const METRICS_ACCESS = Symbol('METRICS_ACCESS');

/** Why a scrape is refused, or undefined when it may go ahead. */
export type MetricsRefusal = { status: 401 | 404; message: string };

/**
 * The scrape and its access rule, shared by `/metrics` on the service's port and on
 * `METRICS_PORT`. On the service's port: 404 when `METRICS_PORT` is set (metrics live there
 * only); else the bearer token when `ADSEED_METRICS_TOKEN` is set; else, for a protected service
 * (the gateway with API keys), 401 — its metrics name tenants and the port faces users. On
 * `METRICS_PORT`: the token when set, else open (keep the port off the Ingress).
 */
@Injectable()
export class MetricsEndpoint {
  /** One lag read at a time: while the broker is down, scrapes must not pile up admin calls. */
  private lagRead?: Promise<void>;

  constructor(
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(METRICS_ACCESS) private readonly access: MetricsAccessOptions,
  ) {}

  refusal(authorization: string | undefined, listener: 'service' | 'metrics'): MetricsRefusal | undefined {
    const { METRICS_PORT: port, ADSEED_METRICS_TOKEN: token } = this.runtime.env;
    if (listener === 'service' && port !== undefined) return { status: 404, message: `metrics are served on their own port (METRICS_PORT ${port})` };
    if (token) {
      // Digests of equal length: the comparison says nothing about the token, its length included.
      const given = createHash('sha256')
        .update(/^Bearer\s+(.+)$/i.exec(authorization ?? '')?.[1]?.trim() ?? '')
        .digest();
      const expected = createHash('sha256').update(token).digest();
      return timingSafeEqual(given, expected)
        ? undefined
        : { status: 401, message: 'send the metrics token as `Authorization: Bearer <ADSEED_METRICS_TOKEN>`' };
    }
    if (listener === 'service' && this.access.protect) {
      return {
        status: 401,
        message: 'with API keys on, /metrics is served only with ADSEED_METRICS_TOKEN (Bearer) or on its own port (METRICS_PORT): it names tenants',
      };
    }
    return undefined;
  }

  async scrape(): Promise<string> {
    // Reading lag asks the broker; when it is down that retries for minutes, and a scrape that
    // times out loses every other metric exactly when they matter.
    this.lagRead ??= Promise.resolve(this.runtime.bus.reportLag?.())
      .catch((error: Error) => this.runtime.logger.warn('could not read consumer lag', { error }))
      .finally(() => {
        this.lagRead = undefined;
      });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.lagRead, new Promise<void>((resolve) => (timer = setTimeout(resolve, LAG_WAIT_MS)))]);
    clearTimeout(timer);
    return this.runtime.metrics.registry.metrics();
  }
}

/** `/metrics` alone on `METRICS_PORT` (plain node:http; anything else is 404), started with the service. */
@Injectable()
export class MetricsListener implements OnApplicationBootstrap, OnApplicationShutdown {
  private server: Server | undefined;

  constructor(
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly endpoint: MetricsEndpoint,
  ) {}

  /** The bound port (tests listen on 0). */
  get port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  async onApplicationBootstrap(): Promise<void> {
    const { METRICS_PORT: port, METRICS_HOST: host, PORT } = this.runtime.env;
    if (port === undefined) return;
    if (port !== 0 && port === PORT) throw new Error(`METRICS_PORT (${port}) must differ from PORT`);
    const server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    this.runtime.logger.info('metrics listening on their own port', { port: this.port, host });
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: import('node:http').ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: this port serves GET /metrics only\n');
      return;
    }
    const refused = this.endpoint.refusal(request.headers.authorization, 'metrics');
    if (refused) {
      response
        .writeHead(refused.status, { 'content-type': 'text/plain', ...(refused.status === 401 ? { 'www-authenticate': 'Bearer' } : {}) })
        .end(`${refused.message}\n`);
      return;
    }
    try {
      const body = await this.endpoint.scrape();
      response.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE }).end(request.method === 'HEAD' ? undefined : body);
    } catch (error) {
      this.runtime.logger.error('metrics scrape failed', { error });
      response.writeHead(500, { 'content-type': 'text/plain' }).end('metrics scrape failed\n');
    }
  }
}
