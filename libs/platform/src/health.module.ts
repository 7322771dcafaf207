import { Controller, Get, Header, HttpCode, HttpException, Inject, Injectable, Module, Req, type DynamicModule } from '@nestjs/common';
import type { Request } from 'express';
import { METRICS_ACCESS, METRICS_CONTENT_TYPE, MetricsEndpoint, MetricsListener, type MetricsAccessOptions } from './metrics-endpoint';
import { RUNTIME, type ServiceRuntime } from './service-runtime';

export type ReadinessCheck = () => Promise<{ ok: boolean; detail?: string }>;

/** Services register what must be true before they take traffic (models loaded, index open). */
@Injectable()
export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>();
  register(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }
  async evaluate(): Promise<{ ready: boolean; checks: Record<string, { ok: boolean; detail?: string }> }> {
    const checks: Record<string, { ok: boolean; detail?: string }> = {};
    for (const [name, check] of this.checks) {
      try {
        checks[name] = await check();
      } catch (error) {
        checks[name] = { ok: false, detail: (error as Error).message };
      }
    }
    return { ready: Object.values(checks).every((c) => c.ok), checks };
  }
}

@Controller()
export class HealthController {
  constructor(
    private readonly readiness: Readiness,
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly metricsEndpoint: MetricsEndpoint,
  ) {}

  @Get('healthz')
  @HttpCode(200)
  live(): { status: 'ok'; service: string } {
    return { status: 'ok', service: this.runtime.service };
  }

  @Get('readyz')
  async ready(): Promise<unknown> {
    const result = await this.readiness.evaluate();
    if (!result.ready) throw new HttpException({ status: 'not-ready', ...result }, 503);
    return { status: 'ready', ...result };
  }

  @Get('metrics')
  @Header('Content-Type', METRICS_CONTENT_TYPE)
  async metrics(@Req() request: Request): Promise<string> {
    const refused = this.metricsEndpoint.refusal(request.header('authorization'), 'service');
    if (refused) throw new HttpException(refused.message, refused.status);
    return this.metricsEndpoint.scrape();
  }
}

@Module({})
export class PlatformModule {
  /**
   * Provides the runtime (and its parts) to the whole service; `http` adds health endpoints and
   * `/metrics` (on `METRICS_PORT` alone when set). `metrics.protect`: see MetricsEndpoint.
   */
  static forRoot(runtime: ServiceRuntime, options: { http: boolean; metrics?: MetricsAccessOptions }): DynamicModule {
    return {
      module: PlatformModule,
      global: true,
      controllers: options.http ? [HealthController] : [],
      providers: [{ provide: RUNTIME, useValue: runtime }, { provide: METRICS_ACCESS, useValue: options.metrics ?? {} }, Readiness, MetricsEndpoint, ...(options.http ? [MetricsListener] : [])],
      exports: [RUNTIME, Readiness],
    };
  }
}
