import { CatalogueSubject, PET_BREED_CATALOGUE } from './pet-breed.catalogue';

/** Words that name the kind of animal rather than the breed: "a persian cat" is the Persian. */
const GENERIC_WORDS = new Set(['cat', 'cats', 'kitten', 'kittens', 'kitty', 'dog', 'dogs', 'puppy', 'puppies', 'pup', 'pups', 'breed', 'breeds', 'one', 'ones', 'photo', 'photos', 'picture', 'pictures']);
const LEADING_FILLERS = new Set(['a', 'an', 'the', 'some', 'any', 'few', 'more', 'of', 'me', 'us']);
const TRAILING_FILLERS = new Set(['please', 'pls', 'instead', 'then', 'maybe', 'now', 'too', 'again', 'thanks', 'thank', 'you']);

/** Lower-case words only: "How about a Persian-cat?" → "how about a persian cat". */
export function normalizeWords(text: string): string {
  return text
    .toLowerCase()
    .replace(/[_-]+/g, ' ')
    .replace(/[^a-z0-9\s]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Strips articles and politeness around a subject phrase: "a beagle please" → "beagle". */
export function trimSubjectPhrase(phrase: string): string {
  const words = normalizeWords(phrase).split(' ').filter(Boolean);
  while (words.length > 0 && LEADING_FILLERS.has(words[0])) words.shift();
  while (words.length > 0 && TRAILING_FILLERS.has(words[words.length - 1])) words.pop();
  return words.join(' ');
}

function singular(word: string): string {
  if (word.length > 4 && word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (word.length > 3 && word.endsWith('s') && !word.endsWith('ss')) return word.slice(0, -1);
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
 * Finds the catalogue subject a free-text phrase names, tolerating display names, dataset
 * names, aliases, plurals, a trailing "cat"/"dog" and small typos. Exact forms win over
 * containment ("a cute beagle puppy"), which wins over typos ("pomeranain").
 */
export class CatalogueSubjectMatcher {
  private readonly keys: { key: string; subject: CatalogueSubject }[];

  constructor(private readonly catalogue: readonly CatalogueSubject[] = PET_BREED_CATALOGUE) {
    this.keys = catalogue.flatMap((subject) =>
      [subject.name, subject.displayName, ...(subject.aliases ?? [])].map((k) => ({ key: normalizeWords(k), subject })),
    );
  }

  match(phrase: string): CatalogueSubject | undefined {
    const trimmed = trimSubjectPhrase(phrase);
    if (trimmed === '') return undefined;
    const exact = this.matchExactly(trimmed);
    if (exact) return exact;
    const forms = variants(trimmed);

    let contained: { key: string; subject: CatalogueSubject } | undefined;
    for (const form of forms) {
      const padded = ` ${form} `;
      for (const k of this.keys) {
        if (padded.includes(` ${k.key} `) && (!contained || k.key.length > contained.key.length)) contained = k;
      }
    }
    if (contained) return contained.subject;

    let closest: { distance: number; subject: CatalogueSubject } | undefined;
    for (const form of forms) {
      for (const k of this.keys) {
        if (k.key.length < 5) continue; // "pug" vs "pig": too short to guess safely
        const allowed = k.key.length >= 8 ? 2 : 1;
        const distance = levenshtein(form, k.key);
        if (distance <= allowed && (!closest || distance < closest.distance)) closest = { distance, subject: k.subject };
      }
    }
    return closest?.subject;
  }

  /** Only exact forms (names, aliases, plurals, a trailing "cat"/"dog"): for text that may not be a subject at all. */
  matchExactly(phrase: string): CatalogueSubject | undefined {
    const trimmed = trimSubjectPhrase(phrase);
    if (trimmed === '') return undefined;
    for (const form of variants(trimmed)) {
      const exact = this.keys.find((k) => k.key === form);
      if (exact) return exact.subject;
    }
    return undefined;
  }

  /** The catalogue subject with this exact dataset name (case-insensitive). */
  byName(name: string): CatalogueSubject | undefined {
    const wanted = name.toLowerCase();
    return this.catalogue.find((s) => s.name.toLowerCase() === wanted);
  }
}
