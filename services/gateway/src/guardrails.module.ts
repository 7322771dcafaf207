import { createImageGuardrail, createTextGuardrail, IMAGE_GUARDRAIL, TEXT_GUARDRAIL, type GuardrailsEnv, type ManagedImageGuardrail } from '@adseed/guardrails';
import type { ServiceRuntime } from '@adseed/platform';
import { Inject, Module, Optional, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';

/**
 * Provides the guardrails built from the gateway's environment: the text guardrail
 * (`@ModerateText`) always, the image guardrail (uploads) when `ADSEED_IMAGE_GUARDRAIL` is on, as
 * `null` otherwise. The image model starts loading at once (in its worker threads) so the first
 * upload does not wait; the workers end with the application.
 */
@Module({})
export class GuardrailsModule implements OnApplicationShutdown {
  constructor(@Optional() @Inject(IMAGE_GUARDRAIL) private readonly image: ManagedImageGuardrail | null = null) {}

  static register(runtime: ServiceRuntime, env: GuardrailsEnv): DynamicModule {
    const text = createTextGuardrail(env, {
      onRemoteFailure: (error) => runtime.logger.warn('moderation endpoint unavailable; text let through (ADSEED_MODERATION_FAIL_OPEN)', { error: error.message }),
    });
    const image = createImageGuardrail(env, {
      onWorkerExit: (reason) => runtime.logger.error('image guardrail worker ended; a new one takes its place', { reason }),
    });
    if (image) {
      const started = Date.now();
      image.warmUp().then(
        () => runtime.logger.info('image guardrail ready', { model: image.model, workers: env.ADSEED_IMAGE_GUARDRAIL_WORKERS, loadMs: Date.now() - started }),
        (error: Error) => runtime.logger.error('image guardrail could not load; uploads answer 503 until it does', { model: image.model, error: error.message }),
      );
    }
    return {
      module: GuardrailsModule,
      providers: [
        { provide: TEXT_GUARDRAIL, useValue: text },
        { provide: IMAGE_GUARDRAIL, useValue: image ?? null },
      ],
      exports: [TEXT_GUARDRAIL, IMAGE_GUARDRAIL],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.image?.close?.();
  }
}
