import { createImageGuardrail, createTextGuardrail, IMAGE_GUARDRAIL, TEXT_GUARDRAIL, type GuardrailsEnv } from '@adseed/guardrails';
import type { ServiceRuntime } from '@adseed/platform';
import { Module, type DynamicModule } from '@nestjs/common';

/**
 * Provides the guardrails built from the gateway's environment: the text guardrail
 * (`@ModerateText`) always, the image guardrail (uploads) when `ADSEED_IMAGE_GUARDRAIL` is on, as
 * `null` otherwise. The image model starts loading at once so the first upload does not wait.
 */
@Module({})
export class GuardrailsModule {
  static register(runtime: ServiceRuntime, env: GuardrailsEnv): DynamicModule {
    const text = createTextGuardrail(env, {
      onRemoteFailure: (error) => runtime.logger.warn('moderation endpoint unavailable; text let through (ADSEED_MODERATION_FAIL_OPEN)', { error: error.message }),
    });
    const image = createImageGuardrail(env);
    if (image) {
      const started = Date.now();
      image.warmUp().then(
        () => runtime.logger.info('image guardrail ready', { model: image.model, loadMs: Date.now() - started }),
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
}
