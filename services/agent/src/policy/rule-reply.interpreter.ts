import { Conversation, Intent, ReplyInterpreter } from './conversation.model';
import { MatchableSubject, normalizeWords, SubjectMatcher, trimSubjectPhrase } from './subject-matcher';

/** "show me a <X>" and friends; the capture is the subject phrase. Searched, not anchored, so "no, show me a tent" works. */
const SHOW_PATTERNS: readonly RegExp[] = [
  /\b(?:show|give|find|get|fetch|send) (?:me |us )?(.+)$/,
  /\b(?:how|what) about (.+)$/,
  /\b(?:can|could|may) (?:i|we) (?:see|have|get|try) (.+)$/,
  /\b(?:i|we) (?:d|would) (?:like|love|prefer|rather have|rather see|rather) (.+)$/,
  /\b(?:i|we) (?:want|prefer|need) (.+)$/,
  /\blet ?s (?:see|try|do|go with|use|have) (.+)$/,
  /^(?:try|use|pick|go with|maybe) (.+)$/,
  /^(.+) instead$/,
];

/** A "show me ..." whose object is one of these is about the next photo or another subject, not a named subject. */
const NOT_A_SUBJECT = new Set([
  'it',
  'this',
  'that',
  'these',
  'those',
  'them',
  'one',
  'ones',
  'another',
  'other',
  'others',
  'next',
  'different',
  'something',
  'else',
  'new',
  'more',
  'subject',
  'kind',
  'type',
  'option',
  'photo',
  'picture',
  'image',
  'seed',
  'idea',
  'thing',
  'variety',
  'yes',
  'no',
  'not',
  'again',
  'ad',
  'same',
  'to',
  'see',
  'try',
  'have',
  'go',
  'ahead',
  'with',
]);
const LEADING_VERBS = /^(?:to )?(?:see|have|try|get|use|go with) /;

const DIFFERENT_SUBJECT: readonly RegExp[] = [
  /\b(?:different|another|other|new|change|switch|next) (?:the )?(?:subject|kind|type|topic|idea|theme|category|variety|thing)s?\b/,
  /\bsomething (?:else|different)\b/,
  /\bchange (?:the )?subject\b/,
  /^different$/,
  /\bnot (?:a |an |this |that |the )?(?:subject|kind|type|category)\b/,
];

/** Negations that are really approval; checked before the negation rule. */
const ACCEPT_DESPITE_NEGATION = /\b(?:not bad|why not|no problem|no doubt|can not complain|could not be better)\b/;
const REJECT = /\b(?:no|nope|nah|not|next|skip|another|pass|meh|reject|rejected|dislike|wrong|ugly|bad|worse|keep looking|other one|different one)\b/;
const ACCEPT =
  /\b(?:yes|yeah|yep|yup|ya|sure|ok|okay|k|accept|accepted|approve|approved|perfect|great|good|nice|love|(?:i|we) like|like (?:it|this|that)|fine|awesome|excellent|lovely|beautiful|cool|correct|right|agreed|absolutely|definitely|proceed|generate|go ahead|do it|go for it|that one|this one|use it|use this|use that|go with it|go with this|again|retry)\b/;

/** Expands contractions so negation survives normalisation: "don't" → "do not". */
function expandContractions(text: string): string {
  return text
    .toLowerCase()
    .replace(/[’`]/g, "'")
    .replace(/\bcan't\b/g, 'can not')
    .replace(/\bwon't\b/g, 'will not')
    .replace(/n't\b/g, ' not')
    .replace(/'s\b/g, 's')
    .replace(/'d\b/g, ' d');
}

/** The tenant's subjects, for mapping a named subject onto one the library has. */
export type SubjectsOf = (tenant: string) => Promise<readonly MatchableSubject[]>;

/**
 * Understands the replies the REST API documents (yes / no / next / different subject /
 * "show me a <subject>") and common variants, with no model. A named subject is mapped onto the
 * tenant's subjects when it matches one (name, alias, plural, small typo); otherwise the user's
 * phrase is kept as free text for retrieval.
 */
export class RuleReplyInterpreter implements ReplyInterpreter {
  constructor(private readonly subjectsOf: SubjectsOf = async () => []) {}

  async interpret(text: string, state: Conversation): Promise<Intent> {
    let subjects: readonly MatchableSubject[] = [];
    try {
      subjects = await this.subjectsOf(state.tenant);
    } catch {
      // without the catalogue a named subject is still searched as the user wrote it
    }
    return this.interpretText(text, subjects);
  }

  interpretText(text: string, subjects: readonly MatchableSubject[] = []): Intent {
    const t = normalizeWords(expandContractions(text));
    if (t === '') return { kind: 'unknown' };
    const matcher = new SubjectMatcher(subjects);

    const requested = this.requestedSubject(t, matcher);
    if (requested) return { kind: 'show-subject', subject: requested };

    // a bare subject name ("Tent?") is a request for it; checked before "great"-style words in a name trip the yes/no rules
    const bare = matcher.matchExactly(t);
    if (bare) return { kind: 'show-subject', subject: bare.name };

    if (DIFFERENT_SUBJECT.some((p) => p.test(t))) return { kind: 'different-subject' };
    if (ACCEPT_DESPITE_NEGATION.test(t)) return { kind: 'accept' };
    if (REJECT.test(t)) return { kind: 'reject' };
    if (ACCEPT.test(t)) return { kind: 'accept' };
    return { kind: 'unknown' };
  }

  private requestedSubject(t: string, matcher: SubjectMatcher): string | undefined {
    for (const pattern of SHOW_PATTERNS) {
      const captured = pattern.exec(t)?.[1];
      if (!captured) continue;
      let phrase = trimSubjectPhrase(captured);
      while (LEADING_VERBS.test(phrase)) phrase = trimSubjectPhrase(phrase.replace(LEADING_VERBS, ''));
      const words = phrase.split(' ').filter(Boolean);
      if (words.length === 0 || words.some((w) => NOT_A_SUBJECT.has(w))) continue;
      return matcher.match(phrase)?.name ?? phrase;
    }
    return undefined;
  }
}
