export * from './text-guardrail.port';
export { ProfanityTextCheck, joinSpacedOutLetters } from './profanity.text-check';
export { DenyListTextCheck, ALL_TENANTS, foldForMatching } from './deny-list.text-check';
export { OpenAiModerationRepository, type OpenAiModerationConfig } from './openai-moderation.repository';
export { CompositeTextGuardrail, type CompositeTextGuardrailOptions } from './text-guardrail';
export { GuardrailsEnv, createTextGuardrail, createImageGuardrail, type ManagedImageGuardrail } from './guardrails.env';
export * from './image-guardrail.port';
export { NSFW_CLASS_NAMES, NSFW_MODELS, DEFAULT_NSFW_ONNX_PATH, type NsfwClass, type NsfwModelName } from './nsfw-classes';
