import { AssetTopics, ConversationTopics, GenerationTopics, Queries } from '@adseed/contracts';
import { EVENT_BUS, ServiceError, type EventBus } from '@adseed/messaging';
import {
  CLOCK,
  LOGGER,
  mapInfrastructureFailures,
  PlatformModule,
  QUERY_CLIENT,
  QUERY_SERVER,
  SERVICE_CONFIG,
  toServiceError,
  type Clock,
  type QueryClient,
  type QueryServer,
  type ServiceDefinition,
  type ServiceRuntime,
} from '@adseed/platform';
import { OBJECT_STORE, type ObjectStore } from '@adseed/storage';
import type { Logger } from '@adseed/telemetry';
import { Inject, Injectable, Module, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import { AgentEnv } from './agent.env';
import { ConversationCommandUseCase } from './conversation-command.use-case';
import { ConversationRepository } from './conversation.repository';
import { ConversationRejectedError, REPLY_INTERPRETER, SUBJECT_PROPOSER, type ReplyInterpreter, type SubjectProposer } from './policy/conversation.model';
import { OpenAiChatClient } from './policy/openai-chat.client';
import { OpenAiChatReplyInterpreter } from './policy/openai-chat.interpreter';
import { OpenAiChatProposer } from './policy/openai-chat.proposer';
import { RuleReplyInterpreter } from './policy/rule-reply.interpreter';
import type { MatchableSubject } from './policy/subject-matcher';
import { CatalogueCommandUseCase } from './subjects/catalogue-command.use-case';
import { LibrarySubjectProposer } from './subjects/library-subject.proposer';
import { EMBED_TEXTS, SubjectCatalogueService, type EmbedTexts } from './subjects/subject-catalogue.service';
import { SeedFinder } from './subjects/seed-finder';

export const AGENT_GROUP = 'agent';
/** The subject catalogue reads every index event of every tenant. */
export const AGENT_CATALOGUE_GROUP = 'agent-catalogue';

const chatClientOf = (env: AgentEnv) =>
  new OpenAiChatClient({ baseUrl: env.OPENAI_BASE_URL, model: env.OPENAI_MODEL, apiKey: env.OPENAI_API_KEY, timeoutMs: env.OPENAI_TIMEOUT_MS });

/** The ports the agent's classes are built from; the library proposer works with no language model, an OpenAI-compatible one is optional. */
export const agentProviders: Provider[] = [
  {
    // sentence embeddings: the embedding service's caption encoder
    provide: EMBED_TEXTS,
    inject: [QUERY_CLIENT],
    useFactory:
      (queries: QueryClient): EmbedTexts =>
      async (texts) => {
        const reply = await queries.call(Queries.embedTexts, { texts, encoders: ['caption'] });
        if (!reply.caption) throw new Error('no caption encoder loaded');
        return reply.caption.map((v) => Float32Array.from(v));
      },
  },
  {
    provide: SubjectCatalogueService,
    inject: [OBJECT_STORE, SERVICE_CONFIG, EMBED_TEXTS, LOGGER, CLOCK],
    useFactory: (store: ObjectStore, env: AgentEnv, embedTexts: EmbedTexts, logger: Logger, now: Clock) =>
      new SubjectCatalogueService({
        store,
        bucket: env.ADSEED_BUCKET_STATE,
        embedTexts,
        logger,
        mergeCosine: env.ADSEED_SUBJECT_MERGE_COSINE,
        saveDelayMs: env.ADSEED_CATALOGUE_SAVE_MS,
        now,
      }),
  },
  {
    provide: LibrarySubjectProposer,
    inject: [SubjectCatalogueService, SeedFinder, EMBED_TEXTS, SERVICE_CONFIG],
    useFactory: (catalogue: SubjectCatalogueService, seeds: SeedFinder, embedTexts: EmbedTexts, env: AgentEnv) =>
      new LibrarySubjectProposer({
        catalogue,
        embedTexts,
        // evidence is a ranking signal, not something shown: seeds under the floor count too
        // (the sentence encoder's ranking: it reads a segment like a sentence; CLIP's text tower reads it as a caption)
        searchSeeds: async (tenant, text, k) => (await seeds.find(tenant, text, k, { encoders: ['caption'] })).ranked.slice(0, k),
        segmentFloor: env.ADSEED_SEGMENT_FLOOR,
      }),
  },
  {
    provide: SUBJECT_PROPOSER,
    inject: [SERVICE_CONFIG, LibrarySubjectProposer],
    useFactory: (env: AgentEnv, library: LibrarySubjectProposer): SubjectProposer =>
      env.ADSEED_LLM === 'openai' ? new OpenAiChatProposer({ client: chatClientOf(env), library }) : library,
  },
  {
    provide: REPLY_INTERPRETER,
    inject: [SERVICE_CONFIG, SubjectCatalogueService],
    useFactory: (env: AgentEnv, catalogue: SubjectCatalogueService): ReplyInterpreter => {
      const subjectsOf = async (tenant: string): Promise<MatchableSubject[]> =>
        (await catalogue.list(tenant, false)).map((s) => ({ name: s.name, aliases: s.aliases }));
      const rules = new RuleReplyInterpreter(subjectsOf);
      return env.ADSEED_LLM === 'openai' ? new OpenAiChatReplyInterpreter({ client: chatClientOf(env), rules, subjectsOf }) : rules;
    },
  },
];

/** Thin edge: subscribes the use cases to their topics and queries; all logic lives in the use cases. */
@Injectable()
export class AgentConsumers implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(QUERY_SERVER) private readonly queryServer: QueryServer,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly repository: ConversationRepository,
    private readonly commands: ConversationCommandUseCase,
    private readonly catalogue: SubjectCatalogueService,
    private readonly catalogueCommands: CatalogueCommandUseCase,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { bus, queryServer } = this;
    await this.repository.init();
    await bus.ensureTopics([
      ConversationTopics.updated,
      AssetTopics.indexed,
      AssetTopics.deleted,
      GenerationTopics.singleAdRequested,
      GenerationTopics.singleAdCompleted,
    ]);
    // a conversation's ad, made: the conversation moves to done (or back to its seed)
    await bus.subscribe(GenerationTopics.singleAdCompleted, { group: AGENT_GROUP }, async ({ value }) => {
      await this.commands.completeGeneration(value);
    });
    await bus.subscribe(AssetTopics.indexed, { group: AGENT_CATALOGUE_GROUP }, async ({ value }) => {
      if (value.kind !== undefined && value.kind !== 'seed') return;
      await this.catalogue.update(value.tenant, (c) => c.applyIndexed({ ...value, requestedAt: value.requestedAt ?? value.indexedAt }));
    });
    await bus.subscribe(AssetTopics.deleted, { group: AGENT_CATALOGUE_GROUP }, async ({ value }) => {
      await this.catalogue.update(value.tenant, (c) => c.applyDeleted(value.assetId, value.deletedAt));
    });
    queryServer.handle(
      Queries.catalogue,
      mapInfrastructureFailures('subject catalogue', this.logger, (command) => this.catalogueCommands.execute(command)),
    );
    queryServer.handle(Queries.conversation, async (command) => {
      try {
        return await this.commands.execute(command);
      } catch (error) {
        if (error instanceof ServiceError) throw error;
        // Only what the caller asked is theirs to fix (422); a store, encoder or model that
        // fails is ours: 503/504 with a retry hint at the gateway, or 500 for a bug.
        if (error instanceof ConversationRejectedError) throw new ServiceError(422, 'conversation_rejected', error.message);
        const mapped = toServiceError(error, `conversation ${command.type}`);
        this.logger.error('conversation command failed', { status: mapped.status, code: mapped.code, error });
        throw mapped;
      }
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.catalogue.flush();
  }
}

/**
 * The agent service. Its ports (bus, store, queries, logger, clock, config as `AgentEnv`) come
 * from the global PlatformModule; `forRoot` provides them from a runtime, a test imports
 * `PlatformModule.forRoot(...)` beside it and overrides what it needs (e.g. QUERY_CLIENT).
 */
@Module({
  providers: [...agentProviders, ConversationRepository, SeedFinder, CatalogueCommandUseCase, ConversationCommandUseCase, AgentConsumers],
  exports: [SubjectCatalogueService],
})
export class AgentModule {
  static forRoot(runtime: ServiceRuntime, env: AgentEnv, options: { http: boolean }): DynamicModule {
    return { module: AgentModule, imports: [PlatformModule.forRoot(runtime, { ...options, config: env })] };
  }
}

export const AgentService: ServiceDefinition<typeof AgentEnv> = {
  name: 'agent',
  env: AgentEnv,
  module: (runtime, env, options) => AgentModule.forRoot(runtime, env, options),
};
