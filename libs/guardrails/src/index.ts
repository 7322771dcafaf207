export * from './text-guardrail.port';
export { ProfanityTextCheck, joinSpacedOutLetters } from './profanity.text-check';
export { DenyListTextCheck, ALL_TENANTS, foldForMatching } from './deny-list.text-check';
export { OpenAiModerationRepository, type OpenAiModerationConfig } from './openai-moderation.repository';
export { CompositeTextGuardrail, type CompositeTextGuardrailOptions } from './text-guardrail';
export { GuardrailsEnv, createTextGuardrail } from './guardrails.env';
