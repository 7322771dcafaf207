import { normalizeWords, singular } from '../policy/subject-matcher';

/**
 * Turning what a library says about its photos (captions, tags) into subject phrases. Works on
 * any language's letters; the few word lists below are English function words, not a domain
 * vocabulary.
 */

const LEADING_DETERMINERS = new Set([
  'a',
  'an',
  'the',
  'some',
  'this',
  'that',
  'these',
  'those',
  'one',
  'two',
  'three',
  'four',
  'five',
  'several',
  'many',
  'my',
  'our',
  'your',
  'his',
  'her',
  'their',
]);
/** Where a caption's head noun phrase ends: "red running shoes on a wooden floor" → "red running shoes". */
const PHRASE_BREAKERS = new Set([
  'on',
  'in',
  'at',
  'with',
  'by',
  'for',
  'near',
  'under',
  'over',
  'beside',
  'behind',
  'against',
  'from',
  'into',
  'onto',
  'while',
  'and',
  'or',
  'during',
  'after',
  'before',
  'is',
  'are',
  'was',
  'were',
  'being',
  'sitting',
  'standing',
  'lying',
  'next',
  'inside',
  'outside',
  'across',
  'along',
  'through',
  'around',
  'above',
  'below',
  'between',
  'among',
  'who',
  'which',
  'that',
]);
const MAX_SUBJECT_WORDS = 4;
const MAX_TAG_WORDS = 5;

/** Lower-case letters and digits of any script, single spaces: "Running-Shoes!" → "running shoes". */
export const normalizePhrase = normalizeWords;

/** The identity of a phrase: normalised, last word singular ("Running Shoes" and "running shoe" share one key). */
export function subjectKey(phrase: string): string {
  const words = normalizePhrase(phrase).split(' ').filter(Boolean);
  if (words.length === 0) return '';
  words[words.length - 1] = singular(words[words.length - 1]);
  return words.join(' ');
}

/** The head noun phrase of a caption, or undefined when the caption does not start with a short one. */
export function captionHead(caption: string): string | undefined {
  const clause = caption.split(/[,;:.!?()[\]\u2014\u2013]| - /u)[0] ?? '';
  const words = normalizePhrase(clause).split(' ').filter(Boolean);
  while (words.length > 0 && LEADING_DETERMINERS.has(words[0])) words.shift();
  // a participle right before a breaker or the clause's end is an action, not part of the name:
  // "road bike leaning on a wall" → "road bike", while "red running shoes" keeps "running"
  const end = words.findIndex(
    (w, i) => PHRASE_BREAKERS.has(w) || (i > 0 && /(?:ing|ed)$/u.test(w) && (i === words.length - 1 || PHRASE_BREAKERS.has(words[i + 1]))),
  );
  const head = end < 0 ? words : words.slice(0, end);
  if (head.length === 0 || head.length > MAX_SUBJECT_WORDS || head.every((w) => /^\p{N}+$/u.test(w))) return undefined;
  return head.join(' ');
}

/** The subject phrases an asset contributes: each short tag, and its caption's head noun phrase. */
export function phrasesOf(asset: { caption?: string; tags?: readonly string[] }): string[] {
  const phrases = new Map<string, string>();
  const add = (phrase: string | undefined) => {
    if (!phrase) return;
    const key = subjectKey(phrase);
    if (key && !phrases.has(key)) phrases.set(key, normalizePhrase(phrase));
  };
  for (const tag of asset.tags ?? []) {
    const words = normalizePhrase(tag).split(' ').filter(Boolean);
    if (words.length > 0 && words.length <= MAX_TAG_WORDS) add(words.join(' '));
  }
  if (asset.caption) add(captionHead(asset.caption));
  return [...phrases.values()];
}
