import { NoSubjectsError, SubjectsExhaustedError, type ProposedSubject, type SubjectProposer } from '../policy/conversation.model';
import { normalizeWords } from '../policy/subject-matcher';
import { cosine, type EmbedTexts, type SubjectCatalogueService } from './subject-catalogue.service';
import type { SubjectEntry, TenantCatalogue } from './tenant-catalogue';

/** The seeds retrieval ranks first for a text (the retrieval service). */
export type SearchSeeds = (tenant: string, text: string, k: number) => Promise<{ assetId: string }[]>;

export interface LibrarySubjectProposerOptions {
  catalogue: SubjectCatalogueService;
  embedTexts: EmbedTexts;
  searchSeeds: SearchSeeds;
  /** Under this sentence-encoder cosine (segment vs subject), with no seed evidence either, a segment is a gap. */
  segmentFloor: number;
}

export interface RankedSubject {
  entry: SubjectEntry;
  name: string;
  score: number;
  /** cosine between the segment and the subject's name, description and audience */
  similarity: number;
  /** how strongly the seeds found for the segment itself belong to this subject (0..1) */
  evidence: number;
}

/** How many seeds of the segment's own search count as evidence, and how much evidence weighs. */
const EVIDENCE_SEEDS = 10;
const EVIDENCE_WEIGHT = 0.3;
/** The segment's own search is remembered briefly: a conversation proposes several subjects for one segment. */
const EVIDENCE_CACHE_SIZE = 1000;
const EVIDENCE_TTL_MS = 5 * 60_000;
const HARMONIC = Array.from({ length: EVIDENCE_SEEDS }, (_, r) => 1 / (r + 1)).reduce((a, b) => a + b, 0);

/** The text a segment is compared with: the subject's name, then what a person wrote about it. */
export function subjectText(name: string, description?: string, audience?: string): string {
  return [name, description, audience ? `For ${audience}.` : undefined].filter(Boolean).join('. ');
}

function stems(text: string): Set<string> {
  return new Set(
    normalizeWords(text)
      .split(' ')
      .filter((w) => w.length > 2)
      .map((w) => w.replace(/(?:ing|ers|er|es|s)$/u, '')),
  );
}

/**
 * Proposes one of the tenant's own subjects for a segment: the sentence encoder's cosine between
 * the segment and each subject's name, description and audience, plus evidence from retrieval
 * (subjects whose seeds the segment itself finds rank higher). Disabled subjects and subjects
 * without seeds are never proposed. The reason comes from the subject's own description.
 */
export class LibrarySubjectProposer implements SubjectProposer {
  readonly name = 'library';
  /** why the last ranking fell back to shared words; undefined when embeddings were used */
  lastError: Error | undefined;
  private readonly textVectors = new Map<string, { text: string; vector: Float32Array }>();
  private readonly segmentHits = new Map<string, { at: number; hits: { assetId: string }[] }>();

  constructor(readonly options: LibrarySubjectProposerOptions) {}

  async propose(segment: string, exclude: string[], tenant: string): Promise<ProposedSubject> {
    const catalogue = await this.options.catalogue.read(tenant);
    const ranked = await this.rank(catalogue, segment);
    if (ranked.length === 0) {
      await this.options.catalogue.recordGap(tenant, 'segment', segment, undefined);
      throw new NoSubjectsError();
    }
    const excluded = new Set(exclude.map(normalizeWords));
    const best = ranked.find((r) => !excluded.has(normalizeWords(r.name)) && !r.entry.aliases.some((a) => excluded.has(normalizeWords(a.surface))));
    if (!best) throw new SubjectsExhaustedError(exclude);
    const fits = ranked[0].similarity >= this.options.segmentFloor || ranked[0].evidence > 0;
    if (!fits && exclude.length === 0) await this.options.catalogue.recordGap(tenant, 'segment', segment, ranked[0].similarity);
    return { name: best.name, reason: this.reason(catalogue, best, fits) };
  }

  /** The tenant's proposable subjects, best first. */
  async rank(catalogue: TenantCatalogue, segment: string): Promise<RankedSubject[]> {
    const entries = catalogue.all().filter((e) => e.members.size > 0 && !catalogue.editOf(e).disabled);
    if (entries.length === 0) return [];
    const texts = entries.map((e) => {
      const edit = catalogue.editOf(e);
      return subjectText(catalogue.nameOf(e), edit.description, edit.audience);
    });
    const [similarities, evidence] = await Promise.all([this.similarities(segment, entries, texts), this.evidence(catalogue, segment)]);
    return entries
      .map((entry, i) => {
        const e = evidence.get(entry.id) ?? 0;
        return { entry, name: catalogue.nameOf(entry), similarity: similarities[i], evidence: e, score: similarities[i] + EVIDENCE_WEIGHT * e };
      })
      .sort((a, b) => b.score - a.score || b.entry.members.size - a.entry.members.size || a.name.localeCompare(b.name));
  }

  private reason(catalogue: TenantCatalogue, ranked: RankedSubject, fits: boolean): string {
    const edit = catalogue.editOf(ranked.entry);
    const count = ranked.entry.members.size;
    const own = edit.description
      ? `${edit.description.replace(/[.\s]+$/u, '')}${edit.audience ? ` — fits ${edit.audience.replace(/[.\s]+$/u, '')}` : ''}.`
      : `Your library has ${count} photo${count === 1 ? '' : 's'} of ${ranked.name}${edit.audience ? `, which fit${count === 1 ? 's' : ''} ${edit.audience.replace(/[.\s]+$/u, '')}` : ''}.`;
    return fits ? own : `Nothing in your library fits this segment closely (noted in the seed-gap report); this is the closest. ${own}`;
  }

  private async similarities(segment: string, entries: SubjectEntry[], texts: string[]): Promise<number[]> {
    try {
      const stale = entries.map((e, i) => ({ e, text: texts[i] })).filter(({ e, text }) => this.textVectors.get(e.id)?.text !== text);
      const vectors = await this.options.embedTexts([segment, ...stale.map((s) => s.text)]);
      stale.forEach(({ e, text }, i) => this.textVectors.set(e.id, { text, vector: vectors[i + 1] }));
      this.lastError = undefined;
      return entries.map((e) => cosine(vectors[0], this.textVectors.get(e.id)!.vector));
    } catch (error) {
      this.lastError = error instanceof Error ? error : new Error(String(error));
      // no encoder: the share of the subject's words the segment uses
      const wanted = stems(segment);
      return texts.map((t) => {
        const have = stems(t);
        let shared = 0;
        for (const w of have) if (wanted.has(w)) shared++;
        return have.size ? shared / Math.sqrt(have.size * Math.max(wanted.size, 1)) : 0;
      });
    }
  }

  /** Reciprocal-rank credit for each subject whose seeds the segment's own search finds. */
  private async evidence(catalogue: TenantCatalogue, segment: string): Promise<Map<string, number>> {
    const credit = new Map<string, number>();
    const key = `${catalogue.tenant}\u0000${normalizeWords(segment)}`;
    const cached = this.segmentHits.get(key);
    let hits = cached && cached.at > Date.now() - EVIDENCE_TTL_MS ? cached.hits : undefined;
    if (!hits) {
      try {
        hits = await this.options.searchSeeds(catalogue.tenant, segment, EVIDENCE_SEEDS);
      } catch {
        return credit; // ranking by similarity alone is still a ranking
      }
      this.segmentHits.delete(key);
      this.segmentHits.set(key, { at: Date.now(), hits });
      if (this.segmentHits.size > EVIDENCE_CACHE_SIZE) this.segmentHits.delete(this.segmentHits.keys().next().value!);
    }
    hits.slice(0, EVIDENCE_SEEDS).forEach((hit, rank) => {
      for (const entry of catalogue.subjectsOfAsset(hit.assetId)) credit.set(entry.id, (credit.get(entry.id) ?? 0) + 1 / (rank + 1) / HARMONIC);
    });
    return credit;
  }
}
