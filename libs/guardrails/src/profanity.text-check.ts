import { englishDataset, englishRecommendedTransformers, RegExpMatcher } from 'obscenity';
import type { TextCheck, TextField, TextFinding } from './text-guardrail.port';

/**
 * Single letters spaced out to slip past a word filter: "f u c k", "f.u.c.k", "s-h-1-t". obscenity
 * deliberately leaves its skip-non-alphabetic transformer out of the recommended set (it joins
 * ordinary neighbouring words into false matches), so we only join runs of three or more
 * one-character tokens, which ordinary prose does not produce.
 */
const SPACED_OUT = /(?<![\p{L}\p{N}])(?:[\p{L}\p{N}@$!][ \t._\-/\\|,+~]{1,3}){2,}[\p{L}\p{N}@$!](?![\p{L}\p{N}])/gu;
const SEPARATORS = /[ \t._\-/\\|,+~]/g;

export function joinSpacedOutLetters(text: string): string {
  return text.replace(SPACED_OUT, (run) => run.replace(SEPARATORS, ''));
}

/**
 * Offline profanity and abuse detection with obscenity's English dataset and its recommended
 * transformers (confusable characters, leetspeak, repeated letters, case), plus the spaced-out
 * letters above. The matched word is never reported, only the category.
 */
export class ProfanityTextCheck implements TextCheck {
  readonly source = 'profanity' as const;
  private readonly matcher = new RegExpMatcher({ ...englishDataset.build(), ...englishRecommendedTransformers });

  async check(_tenant: string, fields: readonly TextField[]): Promise<TextFinding[]> {
    return fields.filter((f) => this.isProfane(f.text)).map((f) => ({ field: f.field, category: 'profanity', source: this.source }));
  }

  isProfane(text: string): boolean {
    if (this.matcher.hasMatch(text)) return true;
    const joined = joinSpacedOutLetters(text);
    return joined !== text && this.matcher.hasMatch(joined);
  }
}
