import { createImageGuardrail, createTextGuardrail, IMAGE_GUARDRAIL, TEXT_GUARDRAIL, type GuardrailsEnv, type ImageGuardrail, type TextGuardrail } from '@adseed/guardrails';
import { LOGGER, SERVICE_CONFIG } from '@adseed/platform';
import type { Logger } from '@adseed/telemetry';
import { Module } from '@nestjs/common';

/** The text guardrail the gateway's configuration asks for; a remote moderator that fails is logged (and, fail-open, let through). */
const textGuardrail = (env: GuardrailsEnv, logger: Logger): TextGuardrail =>
  createTextGuardrail(env, {
    onRemoteFailure: (error) => logger.warn('moderation endpoint unavailable; text let through (ADSEED_MODERATION_FAIL_OPEN)', { error: error.message }),
  });

/** The image guardrail when `ADSEED_IMAGE_GUARDRAIL` is on, `null` otherwise; its model starts loading at once, so the first upload does not wait. */
const imageGuardrail = (env: GuardrailsEnv, logger: Logger): ImageGuardrail | null => {
  const image = createImageGuardrail(env);
  if (!image) return null;
  const started = Date.now();
  image.warmUp().then(
    () => logger.info('image guardrail ready', { model: image.model, loadMs: Date.now() - started }),
    (error: Error) => logger.error('image guardrail could not load; uploads answer 503 until it does', { model: image.model, error: error.message }),
  );
  return image;
};

/**
 * Provides the guardrails built from the gateway's configuration (SERVICE_CONFIG): the text
 * guardrail (`@ModerateText`) always, the image guardrail (uploads, generated ads) when it is on.
 */
@Module({
  providers: [
    { provide: TEXT_GUARDRAIL, useFactory: textGuardrail, inject: [SERVICE_CONFIG, LOGGER] },
    { provide: IMAGE_GUARDRAIL, useFactory: imageGuardrail, inject: [SERVICE_CONFIG, LOGGER] },
  ],
  exports: [TEXT_GUARDRAIL, IMAGE_GUARDRAIL],
})
export class GuardrailsModule {}
