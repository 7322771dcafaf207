import { z } from 'zod';
import { CatalogueSubjectMatcher, normalizeWords } from './catalogue-subject.matcher';
import { ProposedSubject, SubjectProposer } from './conversation.model';
import { OpenAiChatClient } from './openai-chat.client';
import { CatalogueSubject, describeSubject, PET_BREED_CATALOGUE } from './pet-breed.catalogue';

const ProposalAnswer = z.object({
  name: z.string().trim().min(1, 'must name a subject'),
  reason: z.string().trim().min(1, 'must give a reason').max(300, 'must be one short line'),
});

const SYSTEM_PROMPT = [
  'You choose the subject of an advertising photo for an audience segment.',
  'Pick exactly one subject from the candidates given, the one that best fits the segment.',
  'Answer with a JSON object: {"name": "<candidate name, copied exactly>", "reason": "<one short sentence: why it fits the segment>"}.',
].join(' ');

export interface OpenAiChatProposerOptions {
  client: OpenAiChatClient;
  /** answers whenever the model fails, times out or answers out of bounds (usually the CatalogueSubjectProposer) */
  fallback: SubjectProposer;
  catalogue?: readonly CatalogueSubject[];
}

/**
 * Proposes a subject by asking a chat model to choose among the catalogue subjects not yet
 * excluded, so what it proposes is always something the seed library holds. Any failure answers
 * with the fallback proposer; `lastError` says why (undefined after a successful call).
 */
export class OpenAiChatProposer implements SubjectProposer {
  readonly name: string;
  lastError: Error | undefined;
  private readonly catalogue: readonly CatalogueSubject[];
  private readonly matcher: CatalogueSubjectMatcher;

  constructor(private readonly options: OpenAiChatProposerOptions) {
    this.catalogue = options.catalogue ?? PET_BREED_CATALOGUE;
    this.matcher = new CatalogueSubjectMatcher(this.catalogue);
    this.name = `openai-chat:${options.client.model}`;
  }

  async propose(segment: string, exclude: string[]): Promise<ProposedSubject> {
    const excluded = new Set(exclude.map(normalizeWords));
    const candidates = this.catalogue.filter(
      (s) => !excluded.has(normalizeWords(s.name)) && !excluded.has(normalizeWords(s.displayName)),
    );
    // nothing left to ask about: the fallback reports exhaustion in the shared way
    if (candidates.length === 0) return this.options.fallback.propose(segment, exclude);
    try {
      const answer = await this.options.client.completeJson(
        [
          { role: 'system', content: SYSTEM_PROMPT },
          {
            role: 'user',
            content: JSON.stringify({ segment, candidates: candidates.map((s) => ({ name: s.name, description: describeSubject(s) })) }),
          },
        ],
        ProposalAnswer,
      );
      const chosen = this.matcher.matchExactly(answer.name);
      if (!chosen || !candidates.includes(chosen)) {
        throw new Error(`the model proposed "${answer.name}", which is not one of the ${candidates.length} allowed subjects`);
      }
      this.lastError = undefined;
      return { name: chosen.name, reason: answer.reason };
    } catch (error) {
      this.lastError = error instanceof Error ? error : new Error(String(error));
      return this.options.fallback.propose(segment, exclude);
    }
  }
}
