import { normalizeWords } from './catalogue-subject.matcher';
import { CatalogueSubject, describeSubject, Species } from './pet-breed.catalogue';

/**
 * Words grouped into the lifestyle concepts marketers write segments with. Both the segment and
 * each subject's description are reduced to concepts, so "hikers" meets "outdoorsy".
 */
const CONCEPT_WORDS: Record<string, readonly string[]> = {
  cat: ['cat', 'cats', 'kitten', 'kittens', 'kitty', 'feline', 'felines'],
  dog: ['dog', 'dogs', 'puppy', 'puppies', 'pup', 'pups', 'canine', 'canines', 'hound', 'hounds'],
  outdoor: ['outdoor', 'outdoors', 'outdoorsy', 'outside', 'hike', 'hikes', 'hiking', 'hiker', 'hikers', 'trail', 'trails', 'camping', 'nature', 'countryside', 'country', 'field', 'fields', 'adventure', 'adventurous', 'mountain', 'mountains', 'rural', 'garden', 'yard'],
  active: ['active', 'energetic', 'energy', 'sporty', 'sport', 'sports', 'athletic', 'run', 'runs', 'running', 'runner', 'runners', 'jogging', 'jogger', 'joggers', 'fitness', 'tireless', 'lively', 'training'],
  apartment: ['apartment', 'apartments', 'flat', 'flats', 'condo', 'condos', 'studio', 'indoor', 'indoors', 'homebody', 'homebodies'],
  city: ['city', 'cities', 'urban', 'downtown', 'metropolitan'],
  small: ['small', 'tiny', 'toy', 'compact', 'little', 'portable', 'mini', 'miniature'],
  large: ['large', 'big', 'giant', 'huge'],
  family: ['family', 'families', 'kid', 'kids', 'child', 'children', 'parent', 'parents', 'mom', 'moms', 'dad', 'dads'],
  calm: ['calm', 'quiet', 'relaxed', 'laid', 'mellow', 'docile', 'easygoing', 'gentle', 'low', 'slow', 'patient', 'dignified'],
  elegant: ['elegant', 'luxury', 'luxurious', 'glamorous', 'refined', 'graceful', 'stylish', 'style', 'fashion', 'fashionable', 'premium', 'exotic'],
  playful: ['playful', 'fun', 'comical', 'cheerful', 'merry', 'joyful', 'bouncy', 'smiling', 'charming'],
  cuddly: ['cuddly', 'cuddle', 'cuddles', 'affectionate', 'lap', 'snuggle', 'snuggly', 'warm', 'fluffy'],
  senior: ['senior', 'seniors', 'retired', 'retiree', 'retirees', 'elderly'],
  allergy: ['allergy', 'allergies', 'allergic', 'hypoallergenic', 'shedding'],
  water: ['water', 'swim', 'swimming', 'lake', 'lakes', 'sea', 'beach', 'beaches'],
  cold: ['cold', 'snow', 'winter', 'ski', 'skiing', 'skier', 'skiers'],
  guard: ['guard', 'guardian', 'protective', 'protector', 'security', 'safe'],
  independent: ['independent', 'busy', 'professional', 'professionals', 'maintenance', 'self', 'reliant', 'minimalist', 'minimalists', 'single', 'singles'],
};

const SPECIES_WEIGHT = 3;
const NAMED_SUBJECT_WEIGHT = 10;

const WORD_TO_CONCEPT = new Map<string, string>(
  Object.entries(CONCEPT_WORDS).flatMap(([concept, words]) => words.map((w) => [w, concept] as [string, string])),
);

export function conceptsOf(text: string): Set<string> {
  const concepts = new Set<string>();
  for (const word of normalizeWords(text).split(' ')) {
    const concept = WORD_TO_CONCEPT.get(word);
    if (concept) concepts.add(concept);
  }
  return concepts;
}

/** The species a segment asks for, when it names exactly one ("cat lovers" → cat). */
export function speciesNamedIn(segment: string): Species | undefined {
  const concepts = conceptsOf(segment);
  if (concepts.has('cat') && !concepts.has('dog')) return 'cat';
  if (concepts.has('dog') && !concepts.has('cat')) return 'dog';
  return undefined;
}

/**
 * Scores each subject by the lifestyle concepts it shares with the segment, plus its species when named. No model needed:
 * the fallback when the sentence encoder is unavailable.
 */
export function scoreByKeywords(segment: string, subjects: readonly CatalogueSubject[]): number[] {
  const wanted = conceptsOf(segment);
  const padded = ` ${normalizeWords(segment)} `;
  return subjects.map((subject) => {
    // every matching word counts, so a description that stresses a concept ("outdoorsy … hikes … hikers") beats one that mentions it once
    let score = wanted.has(subject.species) ? SPECIES_WEIGHT : 0;
    for (const word of normalizeWords(describeSubject(subject)).split(' ')) {
      const concept = WORD_TO_CONCEPT.get(word);
      if (concept && concept !== 'cat' && concept !== 'dog' && wanted.has(concept)) score += 1;
    }
    const named = [subject.name, subject.displayName].some((n) => padded.includes(` ${normalizeWords(n)} `));
    return named ? score + NAMED_SUBJECT_WEIGHT : score;
  });
}
