/** One piece of user text on its way to a generator or an ad, named by the request field it came from. */
export interface TextField {
  /** The request field, as the 422 `issues[].field` reports it: `segment`, `headline`, `text`, … */
  field: string;
  text: string;
}

/** Which check flagged a field. */
export type TextCheckSource = 'profanity' | 'deny-list' | 'moderation';

/**
 * Why a field was rejected. Never carries the offending text or the matched term: a finding is
 * logged and returned to the caller, and neither may repeat what was rejected.
 */
export interface TextFinding {
  field: string;
  /** `profanity`, `deny_list`, or the moderation endpoint's category (`harassment`, `sexual/minors`, …). */
  category: string;
  source: TextCheckSource;
}

export type TextVerdict = { allowed: true } | { allowed: false; findings: TextFinding[] };

/** One check over a request's text fields. Checks are pure with respect to the text: no logging of it. */
export interface TextCheck {
  readonly source: TextCheckSource;
  check(tenant: string, fields: readonly TextField[]): Promise<TextFinding[]>;
}

/** The port the gateway depends on: is this text allowed to reach a generator or an ad? */
export interface TextGuardrail {
  check(tenant: string, fields: readonly TextField[]): Promise<TextVerdict>;
}

export const TEXT_GUARDRAIL = Symbol('TEXT_GUARDRAIL');

/** The moderation endpoint could not give an answer (down, slow, malformed) and the guardrail fails closed. */
export class ModerationUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModerationUnavailableError';
  }
}
