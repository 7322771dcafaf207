/**
 * The conversation the agent holds with a marketer, as the REST API exposes it.
 * Plain types on purpose: the zod schema lives in the contracts library, and
 * `conversation.model.spec.ts` fails the build if the two drift apart.
 */

export type ConversationStatus = 'awaiting-subject' | 'awaiting-seed' | 'generating' | 'done' | 'failed';

export interface SeedHit {
  rank: number;
  assetId: string;
  path: string;
  url: string;
  score: number;
  caption?: string;
  licence?: string;
  attribution?: string;
}

export interface ChatMessage {
  role: 'agent' | 'user';
  text: string;
  /** ISO-8601 timestamp */
  at: string;
}

export interface ProposedSubject {
  /** what retrieval searches for: the name of one of the tenant's subjects, or the user's free text */
  name: string;
  /** one line telling the marketer why this subject fits the segment */
  reason: string;
}

export interface Conversation {
  id: string;
  tenant: string;
  segment: string;
  status: ConversationStatus;
  subject?: ProposedSubject;
  /** the top seeds retrieved for `subject`, fetched once per subject */
  seeds: SeedHit[];
  /** index into `seeds` of the seed being shown */
  seedIndex: number;
  currentSeed?: SeedHit;
  rejectedSubjects: string[];
  /** `review` is added by the gateway (the agent never sets it). */
  ad?: {
    path: string;
    url: string;
    seedPath?: string;
    licence?: string;
    attribution?: string;
    review?: { adId: string; status: 'pending' | 'flagged' | 'approved' | 'rejected'; fidelity?: number; flags?: string[] };
  };
  messages: ChatMessage[];
  brandPath?: string;
  /** Text the ad will carry (set at the start or with a reply). */
  headline?: string;
  callToAction?: string;
  createdAt: string;
  updatedAt: string;
}

export type Intent = { kind: 'accept' } | { kind: 'reject' } | { kind: 'different-subject' } | { kind: 'show-subject'; subject: string } | { kind: 'unknown' };

/** What the policy needs from the rest of the system; the agent service adapts these to the bus. */
export interface PolicyPorts {
  /**
   * top-K seeds for a subject that clear the relevance floor (the retrieval service), those that
   * suit the segment first; empty when none does
   */
  retrieve(subject: string, k: number, segment: string): Promise<SeedHit[]>;
  /**
   * generate the ad from the chosen seed: the ad's storage path, or `pending` when it was only
   * requested (the outcome then comes back through `ConversationPolicy.completeGeneration`)
   */
  generate(input: {
    seedPath: string;
    brandPath?: string;
    subject: string;
    segment: string;
    headline?: string;
    callToAction?: string;
  }): Promise<{ path: string; url: string } | GenerationPending>;
}

/** The ad was requested; it is made in the background and its outcome arrives as an event. */
export interface GenerationPending {
  pending: true;
}

/** Injection token of the conversation's `SubjectProposer` (the library's, or a chat model's when `ADSEED_LLM=openai`). */
export const SUBJECT_PROPOSER = Symbol('SUBJECT_PROPOSER');
/** Injection token of the conversation's `ReplyInterpreter` (rules, or rules then a chat model). */
export const REPLY_INTERPRETER = Symbol('REPLY_INTERPRETER');

export interface SubjectProposer {
  readonly name: string;
  /** Proposes the tenant's subject that best fits `segment`, never one named in `exclude` (compared case-insensitively). */
  propose(segment: string, exclude: string[], tenant: string): Promise<ProposedSubject>;
}

export interface ReplyInterpreter {
  interpret(text: string, state: Conversation): Promise<Intent>;
}

/** Thrown by a proposer when every subject it knows has been excluded. */
/**
 * The caller's request cannot be acted on as asked (an empty segment, nothing left to propose):
 * the agent answers `422 conversation_rejected` with this message. Any other failure is ours or
 * a dependency's, never the caller's.
 */
export class ConversationRejectedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConversationRejectedError';
  }
}

export class SubjectsExhaustedError extends ConversationRejectedError {
  constructor(readonly excluded: readonly string[]) {
    super(`every subject in your library has been rejected (${excluded.length} so far); name one yourself with "show me a <subject>"`);
    this.name = 'SubjectsExhaustedError';
  }
}

/** Thrown by a proposer when the tenant's library has no subjects yet. */
export class NoSubjectsError extends ConversationRejectedError {
  constructor() {
    super('your library has no subjects yet: upload seed photos with captions or tags (or add a subject by name)');
    this.name = 'NoSubjectsError';
  }
}
