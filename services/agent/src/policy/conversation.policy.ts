import { TaskCancelledError, timeout, TimeoutStrategy } from 'cockatiel';

import {
  ChatMessage,
  Conversation,
  ConversationRejectedError,
  Intent,
  PolicyPorts,
  ProposedSubject,
  ReplyInterpreter,
  SeedHit,
  SubjectProposer,
} from './conversation.model';

export interface StartConversationInput {
  id: string;
  tenant: string;
  segment: string;
  brandPath?: string;
  headline?: string;
  callToAction?: string;
}

export interface PolicyTimeouts {
  proposeMs: number;
  retrieveMs: number;
  generateMs: number;
}

export interface ConversationPolicyOptions {
  ports: PolicyPorts;
  proposer: SubjectProposer;
  interpreter: ReplyInterpreter;
  /** injected so tests and replays get stable timestamps */
  now?: () => Date;
  /** how many seeds one retrieval fetches and the user can step through (default 3) */
  seedsPerSubject?: number;
  timeouts?: Partial<PolicyTimeouts>;
  /** how a subject name is shown to people; defaults to the name with `_` as spaces */
  displayName?: (subjectName: string) => string;
}

/** Sees the intermediate states of a reply, e.g. `generating` while the ad is being made. */
export interface ReplyObserver {
  onState(conversation: Conversation): void | Promise<void>;
}

const DEFAULT_TIMEOUTS: PolicyTimeouts = { proposeMs: 30_000, retrieveMs: 15_000, generateMs: 180_000 };

function plainName(name: string): string {
  return name.replace(/_/g, ' ');
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `work`, or "<what> took longer than <ms> ms" once `ms` have passed (cockatiel's aggressive timeout: work still running is left behind). */
async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  try {
    return await timeout(ms, TimeoutStrategy.Aggressive).execute(() => work);
  } catch (error) {
    throw error instanceof TaskCancelledError ? new Error(`${what} took longer than ${ms} ms`) : error;
  }
}

/** The conversation with no subject or seeds; the optional keys are dropped rather than set to undefined, so JSON stays clean. */
function withoutSubject(c: Conversation): Conversation {
  const { subject: _subject, currentSeed: _currentSeed, ...rest } = c;
  return { ...rest, seeds: [], seedIndex: 0 };
}

function addUnique(list: readonly string[], name: string): string[] {
  return list.some((n) => n.toLowerCase() === name.toLowerCase()) ? [...list] : [...list, name];
}

/**
 * The agent's side of the conversation: proposes a subject for the segment, steps through the
 * top seeds retrieved for it (one retrieval per subject), and generates the ad from the seed the
 * user accepts. Every method returns a new Conversation and never mutates its input, so the
 * caller can store each state as an event. Failures of the ports become agent messages; the
 * conversation itself is never lost.
 */
export class ConversationPolicy {
  private readonly ports: PolicyPorts;
  private readonly proposer: SubjectProposer;
  private readonly interpreter: ReplyInterpreter;
  private readonly now: () => Date;
  private readonly seedsPerSubject: number;
  private readonly timeouts: PolicyTimeouts;
  private readonly displayName: (subjectName: string) => string;

  constructor(options: ConversationPolicyOptions) {
    this.ports = options.ports;
    this.proposer = options.proposer;
    this.interpreter = options.interpreter;
    this.now = options.now ?? (() => new Date());
    this.seedsPerSubject = options.seedsPerSubject ?? 3;
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    this.displayName = options.displayName ?? plainName;
    if (!Number.isInteger(this.seedsPerSubject) || this.seedsPerSubject < 1) {
      throw new Error(`seedsPerSubject must be a positive integer, got ${this.seedsPerSubject}`);
    }
  }

  async start(input: StartConversationInput): Promise<Conversation> {
    const segment = input.segment.trim();
    if (segment === '') throw new ConversationRejectedError('segment must not be empty: describe the audience, e.g. "weekend campers"');
    const at = this.now().toISOString();
    const empty: Conversation = {
      id: input.id,
      tenant: input.tenant,
      segment,
      status: 'awaiting-subject',
      seeds: [],
      seedIndex: 0,
      rejectedSubjects: [],
      messages: [],
      ...(input.brandPath !== undefined ? { brandPath: input.brandPath } : {}),
      ...(input.headline ? { headline: input.headline } : {}),
      ...(input.callToAction ? { callToAction: input.callToAction } : {}),
      createdAt: at,
      updatedAt: at,
    };
    return this.proposeSubject(empty, `For "${segment}", `);
  }

  async reply(conversation: Conversation, text: string, observer?: ReplyObserver): Promise<Conversation> {
    const c = this.append(conversation, 'user', text);
    switch (conversation.status) {
      case 'generating': {
        // No outcome within the generation budget (the request was lost, e.g. the agent stopped
        // before it went out, or it was dead-lettered): give the choice back so "yes" can retry.
        const waitedMs = this.now().getTime() - Date.parse(conversation.updatedAt);
        if (waitedMs > this.timeouts.generateMs) {
          return this.completeGeneration(c, { error: `no ad arrived within ${Math.round(this.timeouts.generateMs / 1000)} s` });
        }
        return this.say(c, 'I am still generating the ad; it will appear here as soon as it is ready.');
      }
      case 'done':
        return this.say(
          c,
          `This conversation is done: the ad is at ${conversation.ad?.url ?? 'its storage path'}. ` +
            'A new segment is not supported here: start a new conversation for it.',
        );
      default:
        break;
    }
    const intent = await this.interpret(text, conversation);
    switch (conversation.status) {
      case 'awaiting-subject':
        return this.replyToSubject(c, intent);
      case 'awaiting-seed':
        return this.replyToSeed(c, intent, observer);
      case 'failed':
        return this.replyWhenStuck(c, intent);
    }
  }

  private async interpret(text: string, state: Conversation): Promise<Intent> {
    try {
      return await this.interpreter.interpret(text, state);
    } catch {
      // an interpreter outage must not cost the user the conversation: ask them to rephrase
      return { kind: 'unknown' };
    }
  }

  private async replyToSubject(c: Conversation, intent: Intent): Promise<Conversation> {
    switch (intent.kind) {
      case 'accept':
        return c.subject ? this.retrieveAndShow(c, c.subject, '') : this.proposeSubject(c, '');
      case 'reject':
      case 'different-subject': {
        const rejected = c.subject ? addUnique(c.rejectedSubjects, c.subject.name) : c.rejectedSubjects;
        return this.proposeSubject({ ...c, rejectedSubjects: rejected }, 'Understood. ');
      }
      case 'show-subject':
        return this.retrieveAndShow(c, this.requested(intent.subject), '');
      case 'unknown':
        return this.say(c, this.help(c));
    }
  }

  private async replyToSeed(c: Conversation, intent: Intent, observer?: ReplyObserver): Promise<Conversation> {
    switch (intent.kind) {
      case 'accept':
        return this.generate(c, observer);
      case 'reject': {
        const next = c.seedIndex + 1;
        if (next < c.seeds.length) return this.showSeed(c, next, '');
        return this.switchSubject(
          c,
          `That was the last of the ${c.seeds.length === 1 ? 'only photo' : `${c.seeds.length} best photos`} of ${this.subjectLabel(c)}. `,
        );
      }
      case 'different-subject':
        return this.switchSubject(c, 'Understood. ');
      case 'show-subject':
        return this.retrieveAndShow(c, this.requested(intent.subject), '');
      case 'unknown':
        return this.say(c, this.help(c));
    }
  }

  /** `failed` means no subject could be proposed: the user can name one, or ask us to try again. */
  private async replyWhenStuck(c: Conversation, intent: Intent): Promise<Conversation> {
    switch (intent.kind) {
      case 'show-subject':
        return this.retrieveAndShow(c, this.requested(intent.subject), '');
      case 'accept':
      case 'reject':
      case 'different-subject':
        return this.proposeSubject(c, 'Trying again. ');
      case 'unknown':
        return this.say(c, this.help(c));
    }
  }

  private requested(name: string): ProposedSubject {
    return { name, reason: `You asked for ${this.displayName(name)}.` };
  }

  /** The proposer's next subject for the segment, or why there is none. */
  private async nextSubject(c: Conversation): Promise<ProposedSubject | Error> {
    try {
      return await withTimeout(
        this.proposer.propose(c.segment, c.rejectedSubjects, c.tenant),
        this.timeouts.proposeMs,
        `proposing a subject (${this.proposer.name})`,
      );
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  /** `failed` means the proposer had nothing to offer; the user can still name a subject. */
  private noSubject(c: Conversation, leadIn: string, error: Error): Conversation {
    return this.say(
      { ...withoutSubject(c), status: 'failed' },
      `${leadIn}I could not come up with a subject: ${error.message}. Say "show me a <subject>" to choose one yourself, or "try again".`,
    );
  }

  /** Proposes a subject not yet rejected and waits for yes/no. */
  private async proposeSubject(c: Conversation, leadIn: string): Promise<Conversation> {
    const subject = await this.nextSubject(c);
    if (subject instanceof Error) return this.noSubject(c, leadIn, subject);
    return this.say(
      { ...withoutSubject(c), status: 'awaiting-subject', subject },
      `${leadIn}I suggest ${this.displayName(subject.name)}. ${subject.reason} Shall I find photos? Say yes, no, or "show me a <subject>".`,
    );
  }

  /**
   * One retrieval for `subject`, then its first seed; no photos → say so and propose another subject.
   * `introduction` is said only when a photo is shown.
   */
  private async retrieveAndShow(c: Conversation, subject: ProposedSubject, leadIn: string, introduction = ''): Promise<Conversation> {
    const label = this.displayName(subject.name);
    let seeds: SeedHit[];
    try {
      seeds = await this.retrieve(subject.name, c.segment);
    } catch (error) {
      return this.say(
        c,
        `${leadIn}I could not search the photo library for ${label}: ${messageOf(error)}. ` +
          'Nothing is lost: say "yes" to try again, or "show me a <subject>".',
      );
    }
    if (seeds.length === 0) {
      const rejected = addUnique(c.rejectedSubjects, subject.name);
      return this.proposeSubject(
        { ...c, rejectedSubjects: rejected },
        `${leadIn}Your library has no photo of ${label} that is close enough to show (noted in the seed-gap report). `,
      );
    }
    const withSubject: Conversation = { ...c, subject, seeds, seedIndex: 0 };
    return this.showSeed(withSubject, 0, `${leadIn}${introduction}`);
  }

  /** The current subject is rejected: propose another and retrieve for it at once, so the user sees a photo, not a question. */
  private async switchSubject(c: Conversation, leadIn: string): Promise<Conversation> {
    const rejected = c.subject ? addUnique(c.rejectedSubjects, c.subject.name) : c.rejectedSubjects;
    const withRejection: Conversation = { ...withoutSubject(c), status: 'awaiting-subject', rejectedSubjects: rejected };
    const subject = await this.nextSubject(withRejection);
    if (subject instanceof Error) return this.noSubject(withRejection, leadIn, subject);
    // if retrieval fails, the user is left with this subject proposed and can say "yes" to retry
    return this.retrieveAndShow({ ...withRejection, subject }, subject, leadIn, `Let's try ${this.displayName(subject.name)}: ${subject.reason} `);
  }

  private showSeed(c: Conversation, index: number, leadIn: string): Conversation {
    const seed = c.seeds[index];
    const caption = seed.caption ? ` (${seed.caption})` : '';
    return this.say(
      { ...c, status: 'awaiting-seed', seedIndex: index, currentSeed: seed },
      `${leadIn}Photo ${index + 1} of ${c.seeds.length} for ${this.subjectLabel(c)}${caption}. ` + 'Use it for the ad? Say yes, next, or "different subject".',
    );
  }

  private async generate(c: Conversation, observer?: ReplyObserver): Promise<Conversation> {
    const seed = c.currentSeed;
    const subject = c.subject;
    if (!seed || !subject) return this.say(c, this.help(c));
    const generating = this.say({ ...c, status: 'generating' }, `Generating the ad from photo ${c.seedIndex + 1} of ${this.subjectLabel(c)}...`);
    if (observer) {
      try {
        await observer.onState(generating);
      } catch {
        // a failed progress push (e.g. a closed event stream) must not stop the generation itself
      }
    }
    try {
      const ad = await withTimeout(
        this.ports.generate({
          seedPath: seed.path,
          ...(c.brandPath !== undefined ? { brandPath: c.brandPath } : {}),
          subject: subject.name,
          segment: c.segment,
          ...(c.headline ? { headline: c.headline } : {}),
          ...(c.callToAction ? { callToAction: c.callToAction } : {}),
        }),
        this.timeouts.generateMs,
        'generating the ad',
      );
      if ('pending' in ad) return generating;
      return this.completeGeneration(generating, { ad });
    } catch (error) {
      return this.completeGeneration(generating, { error: messageOf(error) });
    }
  }

  /**
   * The outcome of the ad a conversation in `generating` asked for: done with the ad, or back to
   * the chosen seed with the reason. Anything else (not generating, another seed) is returned as is.
   */
  completeGeneration(c: Conversation, outcome: { ad?: { path: string; url: string }; error?: string; seedPath?: string }): Conversation {
    const seed = c.currentSeed;
    if (c.status !== 'generating' || !seed || (outcome.seedPath !== undefined && outcome.seedPath !== seed.path)) return c;
    if (outcome.ad) {
      const rights = { ...(seed.licence ? { licence: seed.licence } : {}), ...(seed.attribution ? { attribution: seed.attribution } : {}) };
      const credit = seed.attribution ? ` Credit the photo: ${seed.attribution}${seed.licence ? ` (${seed.licence})` : ''}.` : '';
      return this.say(
        { ...c, status: 'done', ad: { path: outcome.ad.path, url: outcome.ad.url, seedPath: seed.path, ...rights } },
        `Your ad is ready: ${outcome.ad.url}${credit}`,
      );
    }
    return this.say(
      { ...c, status: 'awaiting-seed' },
      `Generating the ad failed: ${outcome.error ?? 'no ad was made'}. Your choice is kept: say yes to try again, next for another photo, or "different subject".`,
    );
  }

  private async retrieve(subjectName: string, segment: string): Promise<SeedHit[]> {
    const hits = await withTimeout(
      this.ports.retrieve(subjectName, this.seedsPerSubject, segment),
      this.timeouts.retrieveMs,
      `retrieving photos for "${subjectName}"`,
    );
    return hits.slice(0, this.seedsPerSubject);
  }

  private help(c: Conversation): string {
    const lead = "Sorry, I didn't understand that. I understand: ";
    const show = '"show me a <subject>"';
    switch (c.status) {
      case 'awaiting-subject':
        return `${lead}"yes" to find photos of ${this.subjectLabel(c)}, "no" or "different subject" for another idea, or ${show}.`;
      case 'awaiting-seed':
        return `${lead}"yes" to make the ad from this photo, "next" for the next photo (${c.seedIndex + 1} of ${c.seeds.length} shown), "different subject", or ${show}.`;
      default:
        return `${lead}${show}, or "try again" for a new suggestion.`;
    }
  }

  private subjectLabel(c: Conversation): string {
    return c.subject ? this.displayName(c.subject.name) : 'the subject';
  }

  private append(c: Conversation, role: ChatMessage['role'], text: string): Conversation {
    const at = this.now().toISOString();
    return { ...c, messages: [...c.messages, { role, text, at }], updatedAt: at };
  }

  private say(c: Conversation, text: string): Conversation {
    return this.append(c, 'agent', text);
  }
}
