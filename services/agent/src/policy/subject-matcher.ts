/** A subject as the matcher sees it: the name retrieval searches for, and other names for it. */
export interface MatchableSubject {
  readonly name: string;
  readonly aliases?: readonly string[];
}

/** Words that say "a photo of" rather than what: "a running shoe photo" is the running shoe. */
const GENERIC_WORDS = new Set(['one', 'ones', 'photo', 'photos', 'picture', 'pictures', 'image', 'images', 'shot', 'shots']);
const LEADING_FILLERS = new Set(['a', 'an', 'the', 'some', 'any', 'few', 'more', 'of', 'me', 'us']);
const TRAILING_FILLERS = new Set(['please', 'pls', 'instead', 'then', 'maybe', 'now', 'too', 'again', 'thanks', 'thank', 'you']);

/** Lower-case words only (any script): "How about a Running-Shoe?" → "how about a running shoe". */
export function normalizeWords(text: string): string {
  return text
    .normalize('NFC')
    .toLowerCase()
    .replace(/[_-]+/g, ' ')
    .replace(/[^\p{L}\p{N}\s]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Strips articles and politeness around a subject phrase: "a tent please" → "tent". */
export function trimSubjectPhrase(phrase: string): string {
  const words = normalizeWords(phrase).split(' ').filter(Boolean);
  while (words.length > 0 && LEADING_FILLERS.has(words[0])) words.shift();
  while (words.length > 0 && TRAILING_FILLERS.has(words[words.length - 1])) words.pop();
  return words.join(' ');
}

/** The singular of an English plural, conservatively ("boxes" → "box", "glasses" → "glass", "bus" stays). */
export function singular(word: string): string {
  if (word.length > 4 && word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (word.length > 4 && /(?:ches|shes|xes|sses)$/.test(word)) return word.slice(0, -2);
  if (word.length > 3 && word.endsWith('s') && !/(?:ss|us|is)$/.test(word)) return word.slice(0, -1);
  return word;
}

function variants(phrase: string): string[] {
  const words = phrase.split(' ').filter(Boolean);
  const withoutGeneric = words.filter((w) => !GENERIC_WORDS.has(w));
  const forms = new Set<string>();
  for (const ws of [words, withoutGeneric]) {
    if (ws.length === 0) continue;
    forms.add(ws.join(' '));
    forms.add([...ws.slice(0, -1), singular(ws[ws.length - 1])].join(' '));
    forms.add(ws.map(singular).join(' '));
  }
  return [...forms];
}

function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

/**
 * Finds the tenant's subject a free-text phrase names, tolerating aliases, plurals, a trailing
 * "photo" and small typos. Exact forms win over containment ("a cute red tent"), which wins over
 * typos ("backpak").
 */
export class SubjectMatcher<S extends MatchableSubject = MatchableSubject> {
  private readonly keys: { key: string; subject: S }[];

  constructor(private readonly subjects: readonly S[]) {
    this.keys = subjects.flatMap((subject) => [subject.name, ...(subject.aliases ?? [])].map((k) => ({ key: normalizeWords(k), subject })));
  }

  match(phrase: string): S | undefined {
    const trimmed = trimSubjectPhrase(phrase);
    if (trimmed === '') return undefined;
    const exact = this.matchExactly(trimmed);
    if (exact) return exact;
    const forms = variants(trimmed);

    let contained: { key: string; subject: S } | undefined;
    for (const form of forms) {
      const padded = ` ${form} `;
      for (const k of this.keys) {
        if (padded.includes(` ${k.key} `) && (!contained || k.key.length > contained.key.length)) contained = k;
      }
    }
    if (contained) return contained.subject;

    let closest: { distance: number; subject: S } | undefined;
    for (const form of forms) {
      for (const k of this.keys) {
        if (k.key.length < 5) continue; // "cap" vs "cup": too short to guess safely
        const allowed = k.key.length >= 8 ? 2 : 1;
        const distance = levenshtein(form, k.key);
        if (distance <= allowed && (!closest || distance < closest.distance)) closest = { distance, subject: k.subject };
      }
    }
    return closest?.subject;
  }

  /** Only exact forms (names, aliases, plurals, a trailing "photo"): for text that may not be a subject at all. */
  matchExactly(phrase: string): S | undefined {
    const trimmed = trimSubjectPhrase(phrase);
    if (trimmed === '') return undefined;
    for (const form of variants(trimmed)) {
      const exact = this.keys.find((k) => k.key === form);
      if (exact) return exact.subject;
    }
    return undefined;
  }

  /** The subject with this exact name (case-insensitive). */
  byName(name: string): S | undefined {
    const wanted = name.toLowerCase();
    return this.subjects.find((s) => s.name.toLowerCase() === wanted);
  }
}
