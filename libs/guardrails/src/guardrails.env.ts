import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { envBoolean, envInt } from '@adseed/config';
import { z } from 'zod';
import { DenyListTextCheck } from './deny-list.text-check';
import { OpenAiModerationRepository } from './openai-moderation.repository';
import { ProfanityTextCheck } from './profanity.text-check';
import { CompositeTextGuardrail } from './text-guardrail';
import type { ModerationUnavailableError, TextCheck, TextGuardrail } from './text-guardrail.port';
import type { ImageGuardrail } from './image-guardrail.port';
import { DEFAULT_NSFW_ONNX_PATH, NSFW_CLASS_NAMES, NSFW_MODELS, type NsfwClass } from './nsfw-classes';

/** `porn:0.7,hentai:0.7,sexy:0.9`: a class flags an image when its probability reaches its threshold. */
const NsfwThresholds = z
  .string()
  .default('porn:0.7,hentai:0.7,sexy:0.9')
  .transform((raw, ctx): Partial<Record<NsfwClass, number>> => {
    const out: Partial<Record<NsfwClass, number>> = {};
    for (const entry of raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const [name, value] = entry.split(':').map((s) => s.trim().toLowerCase());
      const threshold = Number(value);
      if (!NSFW_CLASS_NAMES.includes(name as NsfwClass) || !(threshold > 0 && threshold <= 1)) {
        ctx.addIssue({
          code: 'custom',
          message: `must be a comma list of <class>:<threshold in (0, 1]> with classes ${NSFW_CLASS_NAMES.join(', ')}; got "${entry}"`,
        });
        continue;
      }
      out[name as NsfwClass] = threshold;
    }
    return out;
  });

const TenantOrAll = z.string().regex(/^(\*|[a-z0-9][a-z0-9-]{0,62})$/, 'keys must be tenant ids or "*"');
const DenyLists = z.record(TenantOrAll, z.array(z.string().trim().min(1).max(200)).max(10_000));

/** `{"<tenant>": ["term", "a phrase"], "*": [...]}` as one JSON variable (a Helm value rendered with `toJson`). */
const DenyListsJson = z
  .string()
  .optional()
  .transform((raw, ctx): Record<string, string[]> => {
    if (!raw || raw.trim() === '') return {};
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be JSON: {"<tenant>": ["term", ...], "*": [...]}' });
      return {};
    }
    const parsed = DenyLists.safeParse(json);
    if (!parsed.success) {
      ctx.addIssue({
        code: 'custom',
        message: `must be {"<tenant>": ["term", ...]}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'} ${i.message}`).join('; ')}`,
      });
      return {};
    }
    return parsed.data;
  });

/** The text guardrail's settings, validated with the rest of the service's environment at start-up. */
export const GuardrailsEnv = z.object({
  /** Offline profanity/abuse detection (obscenity, English). */
  ADSEED_PROFANITY_FILTER: envBoolean(true),
  /** Per-tenant deny lists; `*` applies to every tenant. */
  ADSEED_DENY_LISTS: DenyListsJson,
  /** An OpenAI-compatible API root (`…/v1`); unset: no remote moderation. */
  ADSEED_MODERATION_URL: z.url({ protocol: /^https?$/ }).optional(),
  ADSEED_MODERATION_API_KEY: z.string().optional(),
  ADSEED_MODERATION_MODEL: z.string().default('omni-moderation-latest'),
  ADSEED_MODERATION_TIMEOUT_MS: envInt(5_000, 50, 120_000),
  /** When the endpoint cannot answer: let text through (true) or answer 503 (false, the default). */
  ADSEED_MODERATION_FAIL_OPEN: envBoolean(false),
  /** Classify uploads with nsfwjs and quarantine what it flags (`off` by default: see the README). */
  ADSEED_IMAGE_GUARDRAIL: z.enum(['off', 'nsfwjs']).default('off'),
  ADSEED_NSFW_MODEL: z.enum(NSFW_MODELS).default('MobileNetV2'),
  ADSEED_NSFW_THRESHOLDS: NsfwThresholds,
  /** Worker threads classifying images, each with its own copy of the model; 0 = on the event loop's thread (blocks it per image). */
  ADSEED_IMAGE_GUARDRAIL_WORKERS: envInt(1, 0, 16),
  /** A classification not answered by then (queueing included) fails as unavailable (503 / the ad waits for a reviewer). */
  ADSEED_IMAGE_GUARDRAIL_TIMEOUT_MS: envInt(30_000, 100, 600_000),
  /** tfjs (WebAssembly, the default) or onnx: onnxruntime on the model libs/guardrails/onnx/convert.sh converts (MobileNetV2 only). */
  ADSEED_IMAGE_GUARDRAIL_RUNTIME: z.enum(['tfjs', 'onnx']).default('tfjs'),
  ADSEED_IMAGE_GUARDRAIL_ONNX_PATH: z.string().min(1).default(DEFAULT_NSFW_ONNX_PATH),
});
export type GuardrailsEnv = z.infer<typeof GuardrailsEnv>;

export function createTextGuardrail(env: GuardrailsEnv, hooks: { onRemoteFailure?: (error: ModerationUnavailableError) => void } = {}): TextGuardrail {
  const local: TextCheck[] = [];
  if (env.ADSEED_PROFANITY_FILTER) local.push(new ProfanityTextCheck());
  const denyList = new DenyListTextCheck(env.ADSEED_DENY_LISTS);
  if (denyList.size > 0) local.push(denyList);
  const remote = env.ADSEED_MODERATION_URL
    ? new OpenAiModerationRepository({
        baseUrl: env.ADSEED_MODERATION_URL,
        model: env.ADSEED_MODERATION_MODEL,
        timeoutMs: env.ADSEED_MODERATION_TIMEOUT_MS,
        ...(env.ADSEED_MODERATION_API_KEY ? { apiKey: env.ADSEED_MODERATION_API_KEY } : {}),
      })
    : undefined;
  return new CompositeTextGuardrail({
    local,
    ...(remote ? { remote } : {}),
    failOpen: env.ADSEED_MODERATION_FAIL_OPEN,
    ...(hooks.onRemoteFailure ? { onRemoteFailure: hooks.onRemoteFailure } : {}),
  });
}

export type ManagedImageGuardrail = ImageGuardrail & { warmUp(): Promise<unknown>; close?(): Promise<void> };

/**
 * The image guardrail, or undefined when it is off: nsfwjs in ADSEED_IMAGE_GUARDRAIL_WORKERS
 * worker threads (or on the caller's thread at 0). tfjs or onnxruntime and the model load only
 * when it is on. Throws for a runtime that cannot start (onnx without the converted file).
 */
export function createImageGuardrail(env: GuardrailsEnv, hooks: { onWorkerExit?: (reason: string) => void } = {}): ManagedImageGuardrail | undefined {
  if (env.ADSEED_IMAGE_GUARDRAIL === 'off') return undefined;
  const runtime = env.ADSEED_IMAGE_GUARDRAIL_RUNTIME;
  const onnxPath = resolve(env.ADSEED_IMAGE_GUARDRAIL_ONNX_PATH);
  if (runtime === 'onnx') {
    if (env.ADSEED_NSFW_MODEL !== 'MobileNetV2')
      throw new Error(`ADSEED_IMAGE_GUARDRAIL_RUNTIME=onnx runs MobileNetV2 only (ADSEED_NSFW_MODEL=${env.ADSEED_NSFW_MODEL})`);
    if (!existsSync(onnxPath))
      throw new Error(
        `ADSEED_IMAGE_GUARDRAIL_RUNTIME=onnx: no model at ${onnxPath} (ADSEED_IMAGE_GUARDRAIL_ONNX_PATH); make it with bash libs/guardrails/onnx/convert.sh`,
      );
  }
  const options = { model: env.ADSEED_NSFW_MODEL, thresholds: env.ADSEED_NSFW_THRESHOLDS, runtime, ...(runtime === 'onnx' ? { onnxPath } : {}) };
  if (env.ADSEED_IMAGE_GUARDRAIL_WORKERS === 0) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { NsfwjsImageGuardrail } = require('./nsfwjs.image-classifier') as typeof import('./nsfwjs.image-classifier');
    return new NsfwjsImageGuardrail(options);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { WorkerImageGuardrail } = require('./worker.image-guardrail') as typeof import('./worker.image-guardrail');
  return new WorkerImageGuardrail({
    ...options,
    workers: env.ADSEED_IMAGE_GUARDRAIL_WORKERS,
    timeoutMs: env.ADSEED_IMAGE_GUARDRAIL_TIMEOUT_MS,
    ...(hooks.onWorkerExit ? { onWorkerExit: hooks.onWorkerExit } : {}),
  });
}
