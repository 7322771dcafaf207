import { Controller, Get, Header, HttpCode, HttpException, Inject, Injectable, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { QUERY_CLIENT, QUERY_SERVER } from './queries/query.port';
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

/** A scrape waits this long for fresh consumer lag, then serves the last values it has. */
const LAG_WAIT_MS = 2_000;

@Controller()
export class HealthController {
  /** One lag read at a time: while the broker is down, scrapes must not pile up admin calls. */
  private lagRead?: Promise<void>;

  constructor(
    private readonly readiness: Readiness,
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
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
  @Header('Content-Type', 'text/plain; version=0.0.4')
  async metrics(): Promise<string> {
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

/**
 * Closes the runtime when the service stops (SIGTERM with `enableShutdownHooks`, or `app.close()`):
 * the platform module is every service's deepest import, so this runs after the service's own
 * shutdown hooks (which may still publish), and the bus flushes and leaves its groups last.
 */
@Injectable()
export class RuntimeShutdown implements OnApplicationShutdown {
  constructor(@Inject(RUNTIME) private readonly runtime: ServiceRuntime) {}
  async onApplicationShutdown(): Promise<void> {
    await this.runtime.close();
  }
}

@Module({})
export class PlatformModule {
  /** Provides the runtime (and its parts) to the whole service; `http` adds health endpoints. */
  static forRoot(runtime: ServiceRuntime, options: { http: boolean }): DynamicModule {
    return {
      module: PlatformModule,
      global: true,
      controllers: options.http ? [HealthController] : [],
      providers: [{ provide: RUNTIME, useValue: runtime }, { provide: QUERY_CLIENT, useValue: runtime.queries }, { provide: QUERY_SERVER, useValue: runtime.queryServer }, Readiness, RuntimeShutdown],
      exports: [RUNTIME, QUERY_CLIENT, QUERY_SERVER, Readiness],
    };
  }
}
