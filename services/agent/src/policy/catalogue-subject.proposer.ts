import { normalizeWords } from './catalogue-subject.matcher';
import { ProposedSubject, SubjectProposer, SubjectsExhaustedError } from './conversation.model';
import { CatalogueSubject, describeSubject, PET_BREED_CATALOGUE, reasonFor } from './pet-breed.catalogue';
import { scoreByKeywords, speciesNamedIn } from './subject-keyword.scorer';

/** Sentence embeddings, one vector per text, in order (the caption encoder behind the embedding service). */
export type EmbedTexts = (texts: string[]) => Promise<Float32Array[]>;

export interface RankedSubject {
  subject: CatalogueSubject;
  score: number;
}

export interface CatalogueSubjectProposerOptions {
  /** absent: the keyword scorer is used from the start */
  embedTexts?: EmbedTexts;
  catalogue?: readonly CatalogueSubject[];
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/**
 * Proposes the catalogue subject closest to the segment: cosine between the segment's sentence
 * embedding and each subject's description, or shared lifestyle keywords when embedding fails.
 * A segment that names one species ("cat lovers") only gets that species. Ties go to catalogue
 * order, so the same segment and exclusions always give the same subject.
 */
export class CatalogueSubjectProposer implements SubjectProposer {
  readonly name = 'catalogue';
  /** why the last ranking fell back to keywords; undefined when embeddings were used */
  lastError: Error | undefined;
  private readonly catalogue: readonly CatalogueSubject[];
  private readonly embedTexts: EmbedTexts | undefined;
  private catalogueVectors: Promise<Float32Array[]> | undefined;

  constructor(options: CatalogueSubjectProposerOptions = {}) {
    this.catalogue = options.catalogue ?? PET_BREED_CATALOGUE;
    this.embedTexts = options.embedTexts;
    if (this.catalogue.length === 0) throw new Error('CatalogueSubjectProposer needs a non-empty catalogue');
  }

  async propose(segment: string, exclude: string[]): Promise<ProposedSubject> {
    const excluded = new Set(exclude.map(normalizeWords));
    const ranked = await this.rank(segment);
    const best = ranked.find(
      ({ subject }) => !excluded.has(normalizeWords(subject.name)) && !excluded.has(normalizeWords(subject.displayName)),
    );
    if (!best) throw new SubjectsExhaustedError(exclude);
    return { name: best.subject.name, reason: reasonFor(best.subject) };
  }

  /** Every catalogue subject, best first. */
  async rank(segment: string): Promise<RankedSubject[]> {
    const scores = await this.score(segment);
    const species = speciesNamedIn(segment);
    const ranked = this.catalogue
      .map((subject, index) => ({ subject, score: scores[index], index }))
      .sort((a, b) => b.score - a.score || a.index - b.index);
    if (species === undefined) return ranked.map(({ subject, score }) => ({ subject, score }));
    // the named species first, the rest after: exclusions may still exhaust one species
    const first = ranked.filter((r) => r.subject.species === species);
    const rest = ranked.filter((r) => r.subject.species !== species);
    return [...first, ...rest].map(({ subject, score }) => ({ subject, score }));
  }

  private async score(segment: string): Promise<number[]> {
    if (!this.embedTexts) return scoreByKeywords(segment, this.catalogue);
    try {
      const [catalogueVectors, [segmentVector]] = await Promise.all([this.vectorsForCatalogue(), this.embed([segment])]);
      if (segmentVector.length !== catalogueVectors[0].length) {
        throw new Error(`segment vector has ${segmentVector.length} dims, catalogue vectors ${catalogueVectors[0].length}: embedTexts changed models?`);
      }
      this.lastError = undefined;
      return catalogueVectors.map((v) => cosine(segmentVector, v));
    } catch (error) {
      this.lastError = error instanceof Error ? error : new Error(String(error));
      return scoreByKeywords(segment, this.catalogue);
    }
  }

  private vectorsForCatalogue(): Promise<Float32Array[]> {
    if (!this.catalogueVectors) {
      this.catalogueVectors = this.embed(this.catalogue.map(describeSubject));
      // a failed attempt must not poison the cache: the encoder may be back next time
      this.catalogueVectors.catch(() => (this.catalogueVectors = undefined));
    }
    return this.catalogueVectors;
  }

  private async embed(texts: string[]): Promise<Float32Array[]> {
    if (!this.embedTexts) throw new Error('no embedTexts configured');
    const vectors = await this.embedTexts(texts);
    if (vectors.length !== texts.length) {
      throw new Error(`embedTexts returned ${vectors.length} vectors for ${texts.length} texts`);
    }
    const dims = vectors[0]?.length ?? 0;
    if (dims === 0 || vectors.some((v) => v.length !== dims)) throw new Error('embedTexts returned empty or ragged vectors');
    return vectors;
  }
}
