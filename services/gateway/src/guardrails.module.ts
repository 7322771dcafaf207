import {
  createImageGuardrail,
  createTextGuardrail,
  IMAGE_GUARDRAIL,
  TEXT_GUARDRAIL,
  type GuardrailsEnv,
  type ManagedImageGuardrail,
  type TextGuardrail,
} from '@adseed/guardrails';
import { LOGGER, SERVICE_CONFIG } from '@adseed/platform';
import type { Logger } from '@adseed/telemetry';
import { Inject, Module, Optional, type OnApplicationShutdown } from '@nestjs/common';

/** The text guardrail the gateway's configuration asks for; a remote moderator that fails is logged (and, fail-open, let through). */
const textGuardrail = (env: GuardrailsEnv, logger: Logger): TextGuardrail =>
  createTextGuardrail(env, {
    onRemoteFailure: (error) => logger.warn('moderation endpoint unavailable; text let through (ADSEED_MODERATION_FAIL_OPEN)', { error: error.message }),
  });

/**
 * The image guardrail when `ADSEED_IMAGE_GUARDRAIL` is on, `null` otherwise; its model starts
 * loading at once (in its worker threads), so the first upload does not wait.
 */
const imageGuardrail = (env: GuardrailsEnv, logger: Logger): ManagedImageGuardrail | null => {
  const image = createImageGuardrail(env, {
    onWorkerExit: (reason) => logger.error('image guardrail worker ended; a new one takes its place', { reason }),
  });
  if (!image) return null;
  const started = Date.now();
  image.warmUp().then(
    () => logger.info('image guardrail ready', { model: image.model, workers: env.ADSEED_IMAGE_GUARDRAIL_WORKERS, loadMs: Date.now() - started }),
    (error: Error) => logger.error('image guardrail could not load; uploads answer 503 until it does', { model: image.model, error: error.message }),
  );
  return image;
};

/**
 * Provides the guardrails built from the gateway's configuration (SERVICE_CONFIG): the text
 * guardrail (`@ModerateText`) always, the image guardrail (uploads, generated ads) when it is on.
 * The image guardrail's worker threads end with the application.
 */
@Module({
  providers: [
    { provide: TEXT_GUARDRAIL, useFactory: textGuardrail, inject: [SERVICE_CONFIG, LOGGER] },
    { provide: IMAGE_GUARDRAIL, useFactory: imageGuardrail, inject: [SERVICE_CONFIG, LOGGER] },
  ],
  exports: [TEXT_GUARDRAIL, IMAGE_GUARDRAIL],
})
export class GuardrailsModule implements OnApplicationShutdown {
  constructor(@Optional() @Inject(IMAGE_GUARDRAIL) private readonly image: ManagedImageGuardrail | null = null) {}

  async onApplicationShutdown(): Promise<void> {
    await this.image?.close?.();
  }
}
