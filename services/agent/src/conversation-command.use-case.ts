import { randomUUID } from 'node:crypto';
import { ConversationTopics, GenerationTopics, type Conversation, type ConversationCommand, assetContentUrl, type SingleAdCompleted } from '@adseed/contracts';
import { EVENT_BUS, ServiceError, type EventBus } from '@adseed/messaging';
import { CLOCK, SERVICE_CONFIG, type Clock } from '@adseed/platform';
import { Inject, Injectable } from '@nestjs/common';
import type { AgentEnv } from './agent.env';
import { ConversationRepository } from './conversation.repository';
import { ConversationPolicy } from './policy/conversation.policy';
import { REPLY_INTERPRETER, SUBJECT_PROPOSER, type PolicyPorts, type ReplyInterpreter, type SubjectProposer } from './policy/conversation.model';
import type { Conversation as PolicyConversation } from './policy/conversation.model';
import { SeedFinder } from './subjects/seed-finder';
import { SubjectCatalogueService } from './subjects/subject-catalogue.service';

/** A subject name as a search text (names written with `_` read as words). */
const searchText = (subject: string): string => subject.replace(/_/g, ' ');

/**
 * The agent's one entry point: start, reply to, or read a conversation. Holds no state in
 * memory: every step is loaded from and saved to the repository and broadcast as an update.
 */
@Injectable()
export class ConversationCommandUseCase {
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Seeds retrieved per subject (`ADSEED_SEEDS_PER_SUBJECT`). */
  private readonly seedsPerSubject: number;
  /** Messages (user and agent) one conversation may hold (`ADSEED_CONVERSATION_MAX_MESSAGES`); a reply needs room for two. */
  private readonly maxMessages: number;

  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    private readonly repository: ConversationRepository,
    @Inject(SUBJECT_PROPOSER) private readonly proposer: SubjectProposer,
    @Inject(REPLY_INTERPRETER) private readonly interpreter: ReplyInterpreter,
    private readonly seeds: SeedFinder,
    private readonly catalogue: SubjectCatalogueService,
    @Inject(SERVICE_CONFIG) config: AgentEnv,
    @Inject(CLOCK) private readonly now: Clock,
  ) {
    this.seedsPerSubject = config.ADSEED_SEEDS_PER_SUBJECT;
    this.maxMessages = config.ADSEED_CONVERSATION_MAX_MESSAGES;
  }

  execute(command: ConversationCommand): Promise<Conversation> {
    switch (command.type) {
      case 'start':
        return this.start(command);
      case 'reply':
        return this.serialised(command.conversationId, () => this.reply(command));
      case 'get':
        return this.load(command.tenant, command.conversationId);
      case 'select-seed':
        return this.serialised(command.conversationId, () => this.selectSeed(command));
    }
  }

  /** Moves within the seeds already retrieved; an index past them conflicts with the conversation's state (409). */
  private async selectSeed(command: Extract<ConversationCommand, { type: 'select-seed' }>): Promise<Conversation> {
    const current = await this.load(command.tenant, command.conversationId);
    this.assertRoom(current, 1);
    if (current.status !== 'awaiting-seed') {
      throw new ServiceError(409, 'not_showing_seeds', `the conversation is ${current.status}, not showing seeds`, [
        { field: 'index', reason: 'no seeds to choose from now' },
      ]);
    }
    if (command.index >= current.seeds.length) {
      const last = current.seeds.length - 1;
      throw new ServiceError(409, 'seed_out_of_range', `seed index ${command.index} is out of range: this subject has seeds 0..${last}`, [
        { field: 'index', reason: `must be between 0 and ${last}` },
      ]);
    }
    const now = this.now().toISOString();
    const seed = current.seeds[command.index];
    return this.commit({
      ...current,
      seedIndex: command.index,
      currentSeed: seed,
      messages: [
        ...current.messages,
        { role: 'agent', text: `Here is seed ${command.index + 1} of ${current.seeds.length}${seed.caption ? `: ${seed.caption}` : ''}.`, at: now },
      ],
      updatedAt: now,
    });
  }

  private async start(command: Extract<ConversationCommand, { type: 'start' }>): Promise<Conversation> {
    const conversation = await this.policyFor(command.tenant).start({
      id: randomUUID(),
      tenant: command.tenant,
      segment: command.segment,
      ...(command.brandPath ? { brandPath: command.brandPath } : {}),
      ...(command.headline ? { headline: command.headline } : {}),
      ...(command.callToAction ? { callToAction: command.callToAction } : {}),
    });
    return this.commit(conversation);
  }

  private async reply(command: Extract<ConversationCommand, { type: 'reply' }>): Promise<Conversation> {
    const current = await this.load(command.tenant, command.conversationId);
    if (current.status === 'done') {
      throw new ServiceError(
        409,
        'conversation_done',
        `conversation ${current.id} is done: its ad is at ${current.ad?.url ?? 'its storage path'}; start a new conversation for another ad`,
        [{ field: 'id', reason: 'the conversation is done' }],
      );
    }
    this.assertRoom(current, 2);
    let committed: PolicyConversation | undefined;
    const next = await this.policyFor(command.tenant, current.id).reply(withAdText(current, command), command.text, {
      onState: async (intermediate) => {
        committed = intermediate;
        await this.commit(intermediate);
      },
    });
    // Already saved as it is (e.g. `generating` before the ad request went out): saving it again
    // could overwrite an outcome that another replica stored in between.
    return next === committed ? next : this.commit(next);
  }

  /** Keeps every conversation bounded: its stored size and every read of it. */
  private assertRoom(current: Conversation, adding: number): void {
    const max = this.maxMessages;
    if (current.messages.length + adding > max) {
      throw new ServiceError(
        409,
        'conversation_full',
        `conversation ${current.id} has ${current.messages.length} messages and the limit is ${max}: start a new conversation`,
        [{ field: 'id', reason: `at most ${max} messages per conversation` }],
      );
    }
  }

  private async load(tenant: string, id: string): Promise<Conversation> {
    const conversation = await this.repository.get(tenant, id);
    if (!conversation) throw new ServiceError(404, 'not_found', `no conversation ${id}`, [{ field: 'id', reason: 'unknown conversation' }]);
    return conversation;
  }

  private async commit(conversation: PolicyConversation | Conversation): Promise<Conversation> {
    const saved = conversation;
    await this.repository.save(saved);
    await this.bus.publish(ConversationTopics.updated, { key: saved.id, value: saved });
    return saved;
  }

  /** Replies to one conversation are handled one at a time, in order. */
  private serialised<T>(id: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(id) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.locks.set(id, next);
    void next
      .finally(() => {
        if (this.locks.get(id) === next) this.locks.delete(id);
      })
      .catch(() => undefined);
    return next;
  }

  /**
   * The ad a conversation asked for is made (or could not be): the conversation moves on and the
   * update goes out (SSE). A repeated event, or one for a seed the conversation left, changes nothing.
   */
  completeGeneration(event: SingleAdCompleted): Promise<void> {
    const id = event.conversationId;
    if (event.origin !== 'conversation' || !id) return Promise.resolve();
    return this.serialised(id, async () => {
      const current = await this.repository.get(event.tenant, id);
      if (!current) return;
      const ad = event.ad ? { path: event.ad.path, url: assetContentUrl(event.ad.path) } : undefined;
      const next = this.policyFor(event.tenant, id).completeGeneration(current, {
        seedPath: event.seedPath,
        ...(ad ? { ad } : {}),
        ...(event.error ? { error: event.error.message } : {}),
      });
      if (next !== current) await this.commit(next);
    });
  }

  private policyFor(tenant: string, conversationId?: string): ConversationPolicy {
    const { bus } = this;
    const ports: PolicyPorts = {
      retrieve: async (subject, k, segment) => {
        const catalogue = await this.catalogue.read(tenant);
        const entry = catalogue.byName(subject);
        const members = new Map((entry ? catalogue.seedsOf(entry) : []).map((s) => [s.assetId, s.path]));
        // a subject with enough photos of its own: show those that suit the segment best;
        // otherwise search for the subject by name
        const found =
          members.size >= k
            ? await this.seeds.find(tenant, segment, k, { members, onlyMembers: true })
            : await this.seeds.find(tenant, searchText(subject), k, { members });
        if (found.seeds.length === 0) await this.catalogue.recordGap(tenant, 'subject', searchText(subject), found.bestScore);
        return found.seeds;
      },
      // long work: requested by event; the outcome comes back as one (completeGeneration)
      generate: async ({ seedPath, brandPath, subject, segment, headline, callToAction }) => {
        if (!conversationId) throw new Error('an ad is generated for a conversation');
        await bus.publish(GenerationTopics.singleAdRequested, {
          key: conversationId,
          value: {
            requestId: randomUUID(),
            origin: 'conversation',
            conversationId,
            request: {
              tenant,
              seedPath,
              ...(brandPath ? { brandPath } : {}),
              subject: searchText(subject),
              segment,
              ...(headline ? { headline } : {}),
              ...(callToAction ? { callToAction } : {}),
            },
            requestedAt: this.now().toISOString(),
          },
        });
        return { pending: true };
      },
    };
    return new ConversationPolicy({ ports, proposer: this.proposer, interpreter: this.interpreter, seedsPerSubject: this.seedsPerSubject, now: this.now });
  }
}

/** A reply's headline and call to action replace the conversation's; an empty one clears it. */
function withAdText(current: Conversation, command: { headline?: string; callToAction?: string }): Conversation {
  let next = current;
  for (const field of ['headline', 'callToAction'] as const) {
    const value = command[field]?.trim();
    if (value === undefined) continue;
    const { [field]: _dropped, ...rest } = next;
    next = value === '' ? rest : { ...rest, [field]: value };
  }
  return next;
}
