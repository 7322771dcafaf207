import { z } from 'zod';
import type { LibrarySubjectProposer } from '../subjects/library-subject.proposer';
import { ProposedSubject, SubjectProposer } from './conversation.model';
import { OpenAiChatClient } from './openai-chat.client';
import { normalizeWords } from './subject-matcher';

const ProposalAnswer = z.object({
  name: z.string().trim().min(1, 'must name a subject'),
  reason: z.string().trim().min(1, 'must give a reason').max(300, 'must be one short line'),
});

const SYSTEM_PROMPT = [
  'You choose the subject of an advertising photo for an audience segment.',
  'Pick exactly one subject from the candidates given, the one that best fits the segment.',
  'Answer with a JSON object: {"name": "<candidate name, copied exactly>", "reason": "<one short sentence: why it fits the segment>"}.',
].join(' ');

/** How many of the library's best subjects the model chooses among. */
const CANDIDATES = 20;

export interface OpenAiChatProposerOptions {
  client: OpenAiChatClient;
  /** ranks the tenant's subjects, and answers whenever the model fails, times out or answers out of bounds */
  library: LibrarySubjectProposer;
}

/**
 * Proposes a subject by asking a chat model to choose among the tenant's best-ranked subjects
 * not yet excluded, so what it proposes is always something the library holds above the floor.
 * Any failure answers with the library proposer; `lastError` says why.
 */
export class OpenAiChatProposer implements SubjectProposer {
  readonly name: string;
  lastError: Error | undefined;

  constructor(private readonly options: OpenAiChatProposerOptions) {
    this.name = `openai-chat:${options.client.model}`;
  }

  async propose(segment: string, exclude: string[], tenant: string): Promise<ProposedSubject> {
    const { library } = this.options;
    try {
      const catalogue = await library.options.catalogue.read(tenant);
      const excluded = new Set(exclude.map(normalizeWords));
      const candidates = (await library.rank(catalogue, segment)).filter((r) => !excluded.has(normalizeWords(r.name))).slice(0, CANDIDATES);
      // nothing left to ask about: the library proposer reports it in the shared way
      if (candidates.length === 0) return library.propose(segment, exclude, tenant);
      const answer = await this.options.client.completeJson(
        [
          { role: 'system', content: SYSTEM_PROMPT },
          {
            role: 'user',
            content: JSON.stringify({
              segment,
              candidates: candidates.map((r) => {
                const edit = catalogue.editOf(r.entry);
                return { name: r.name, description: edit.description, audience: edit.audience, photos: r.entry.members.size };
              }),
            }),
          },
        ],
        ProposalAnswer,
      );
      const chosen = candidates.find((r) => normalizeWords(r.name) === normalizeWords(answer.name));
      if (!chosen) throw new Error(`the model proposed "${answer.name}", which is not one of the ${candidates.length} allowed subjects`);
      this.lastError = undefined;
      return { name: chosen.name, reason: answer.reason };
    } catch (error) {
      this.lastError = error instanceof Error ? error : new Error(String(error));
      return library.propose(segment, exclude, tenant);
    }
  }
}
