import { z } from 'zod';
import { Conversation, Intent, ReplyInterpreter } from './conversation.model';
import { OpenAiChatClient } from './openai-chat.client';
import { RuleReplyInterpreter } from './rule-reply.interpreter';
import { SubjectMatcher, trimSubjectPhrase, type MatchableSubject } from './subject-matcher';

const IntentAnswer = z.object({
  intent: z.enum(['accept', 'reject', 'different-subject', 'show-subject', 'unknown']),
  subject: z.string().trim().max(100).optional(),
});

const SYSTEM_PROMPT = [
  "You classify a marketer's reply in a chat where an assistant proposes ad photo subjects and shows photos.",
  'Intents: "accept" (yes, use it), "reject" (no, next photo or next idea), "different-subject" (wants another kind of subject),',
  '"show-subject" (names a specific subject they want to see; put it in "subject"), "unknown" (anything else).',
  'Answer with a JSON object: {"intent": "<intent>", "subject": "<only for show-subject>"}.',
].join(' ');

export interface OpenAiChatReplyInterpreterOptions {
  client: OpenAiChatClient;
  rules?: RuleReplyInterpreter;
  /** The tenant's subjects, for mapping a named subject onto one the library has. */
  subjectsOf?: (tenant: string) => Promise<readonly MatchableSubject[]>;
}

/**
 * Rules first, model second: the documented replies ("yes", "next", "show me a <subject>") are
 * understood instantly and for free; only what the rules call `unknown` goes to the chat model.
 * Any model failure keeps the rules' answer; `lastError` says why.
 */
export class OpenAiChatReplyInterpreter implements ReplyInterpreter {
  lastError: Error | undefined;
  private readonly rules: RuleReplyInterpreter;
  private readonly subjectsOf: (tenant: string) => Promise<readonly MatchableSubject[]>;

  constructor(private readonly options: OpenAiChatReplyInterpreterOptions) {
    this.subjectsOf = options.subjectsOf ?? (async () => []);
    this.rules = options.rules ?? new RuleReplyInterpreter(this.subjectsOf);
  }

  async interpret(text: string, state: Conversation): Promise<Intent> {
    const subjects = await this.subjectsOf(state.tenant).catch(() => []);
    const byRule = this.rules.interpretText(text, subjects);
    if (byRule.kind !== 'unknown') return byRule;
    try {
      const answer = await this.options.client.completeJson(
        [
          { role: 'system', content: SYSTEM_PROMPT },
          {
            role: 'user',
            content: JSON.stringify({
              status: state.status,
              proposedSubject: state.subject?.name,
              showingPhoto: state.currentSeed ? `${state.seedIndex + 1} of ${state.seeds.length}` : undefined,
              reply: text,
            }),
          },
        ],
        IntentAnswer,
      );
      this.lastError = undefined;
      if (answer.intent !== 'show-subject') return { kind: answer.intent };
      const phrase = trimSubjectPhrase(answer.subject ?? '');
      if (phrase === '') throw new Error('the model answered "show-subject" without naming a subject');
      return { kind: 'show-subject', subject: new SubjectMatcher(subjects).match(phrase)?.name ?? phrase };
    } catch (error) {
      this.lastError = error instanceof Error ? error : new Error(String(error));
      return byRule;
    }
  }
}
