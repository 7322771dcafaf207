import { AssetTopics, ConversationTopics, GenerationTopics, Queries } from '@adseed/contracts';
import { ServiceError } from '@adseed/messaging';
import { mapInfrastructureFailures, PlatformModule, RUNTIME, toServiceError, type ServiceDefinition, type ServiceRuntime } from '@adseed/platform';
import { Inject, Injectable, Module, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { AgentEnv } from './agent.env';
import { ConversationCommandUseCase } from './conversation-command.use-case';
import { ConversationRepository } from './conversation.repository';
import { ConversationRejectedError, type ReplyInterpreter, type SubjectProposer } from './policy/conversation.model';
import { OpenAiChatClient } from './policy/openai-chat.client';
import { OpenAiChatReplyInterpreter } from './policy/openai-chat.interpreter';
import { OpenAiChatProposer } from './policy/openai-chat.proposer';
import { RuleReplyInterpreter } from './policy/rule-reply.interpreter';
import type { MatchableSubject } from './policy/subject-matcher';
import { CatalogueCommandUseCase } from './subjects/catalogue-command.use-case';
import { LibrarySubjectProposer } from './subjects/library-subject.proposer';
import { SubjectCatalogueService, type EmbedTexts } from './subjects/subject-catalogue.service';
import { SeedFinder } from './subjects/seed-finder';

export const AGENT_GROUP = 'agent';
/** The subject catalogue reads every index event of every tenant. */
export const AGENT_CATALOGUE_GROUP = 'agent-catalogue';

/** The library proposer works with no language model; an OpenAI-compatible one is optional. */
function createProviders(env: AgentEnv, library: LibrarySubjectProposer, catalogue: SubjectCatalogueService): { proposer: SubjectProposer; interpreter: ReplyInterpreter } {
  const subjectsOf = async (tenant: string): Promise<MatchableSubject[]> => (await catalogue.list(tenant, false)).map((s) => ({ name: s.name, aliases: s.aliases }));
  const rules = new RuleReplyInterpreter(subjectsOf);
  switch (env.ADSEED_LLM) {
    case 'catalogue':
      return { proposer: library, interpreter: rules };
    case 'openai': {
      const client = new OpenAiChatClient({ baseUrl: env.OPENAI_BASE_URL, model: env.OPENAI_MODEL, apiKey: env.OPENAI_API_KEY, timeoutMs: env.OPENAI_TIMEOUT_MS });
      return { proposer: new OpenAiChatProposer({ client, library }), interpreter: new OpenAiChatReplyInterpreter({ client, rules, subjectsOf }) };
    }
  }
}

@Injectable()
export class AgentConsumers implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly repository: ConversationRepository,
    private readonly commands: ConversationCommandUseCase,
    private readonly catalogue: SubjectCatalogueService,
    private readonly catalogueCommands: CatalogueCommandUseCase,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { bus } = this.runtime;
    await this.repository.init();
    await bus.ensureTopics([ConversationTopics.updated, AssetTopics.indexed, AssetTopics.deleted, GenerationTopics.singleAdRequested, GenerationTopics.singleAdCompleted]);
    // a conversation's ad, made: the conversation moves to done (or back to its seed)
    await bus.subscribe(GenerationTopics.singleAdCompleted, { group: AGENT_GROUP }, async ({ value }) => {
      await this.commands.completeGeneration(value);
    });
    await bus.subscribe(AssetTopics.indexed, { group: AGENT_CATALOGUE_GROUP }, async ({ value }) => {
      if (value.kind !== undefined && value.kind !== 'seed') return;
      await this.catalogue.update(value.tenant, (c) => c.applyIndexed(value));
    });
    await bus.subscribe(AssetTopics.deleted, { group: AGENT_CATALOGUE_GROUP }, async ({ value }) => {
      await this.catalogue.update(value.tenant, (c) => c.applyDeleted(value.assetId));
    });
    const { queryServer } = this.runtime;
    queryServer.handle(Queries.catalogue, mapInfrastructureFailures('subject catalogue', this.runtime.logger, (command) => this.catalogueCommands.execute(command)));
    queryServer.handle(Queries.conversation, async (command) => {
      try {
        return await this.commands.execute(command);
      } catch (error) {
        if (error instanceof ServiceError) throw error;
        // Only what the caller asked is theirs to fix (422); a store, encoder or model that
        // fails is ours: 503/504 with a retry hint at the gateway, or 500 for a bug.
        if (error instanceof ConversationRejectedError) throw new ServiceError(422, 'conversation_rejected', error.message);
        const mapped = toServiceError(error, `conversation ${command.type}`);
        this.runtime.logger.error('conversation command failed', { status: mapped.status, code: mapped.code, error });
        throw mapped;
      }
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.catalogue.flush();
  }
}

@Module({})
export class AgentModule {
  static register(runtime: ServiceRuntime, env: AgentEnv, options: { http: boolean }): DynamicModule {
    const embedTexts: EmbedTexts = async (texts) => {
      const reply = await runtime.queries.call(Queries.embedTexts, { texts, encoders: ['caption'] });
      if (!reply.caption) throw new Error('no caption encoder loaded');
      return reply.caption.map((v) => Float32Array.from(v));
    };
    return {
      module: AgentModule,
      imports: [PlatformModule.forRoot(runtime, options)],
      providers: [
        { provide: ConversationRepository, useFactory: () => new ConversationRepository(runtime.store, env.ADSEED_BUCKET_STATE) },
        {
          provide: SubjectCatalogueService,
          useFactory: () =>
            new SubjectCatalogueService({
              store: runtime.store,
              bucket: env.ADSEED_BUCKET_STATE,
              embedTexts,
              logger: runtime.logger,
              mergeCosine: env.ADSEED_SUBJECT_MERGE_COSINE,
              saveDelayMs: env.ADSEED_CATALOGUE_SAVE_MS,
            }),
        },
        { provide: SeedFinder, useFactory: () => new SeedFinder(runtime.queries) },
        {
          provide: LibrarySubjectProposer,
          inject: [SubjectCatalogueService, SeedFinder],
          useFactory: (catalogue: SubjectCatalogueService, seeds: SeedFinder) =>
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
          provide: CatalogueCommandUseCase,
          inject: [SubjectCatalogueService, SeedFinder],
          useFactory: (catalogue: SubjectCatalogueService, seeds: SeedFinder) => new CatalogueCommandUseCase(catalogue, (tenant, text, k) => seeds.find(tenant, text, k)),
        },
        {
          provide: ConversationCommandUseCase,
          inject: [ConversationRepository, LibrarySubjectProposer, SubjectCatalogueService, SeedFinder],
          useFactory: (repository: ConversationRepository, library: LibrarySubjectProposer, catalogue: SubjectCatalogueService, seeds: SeedFinder) => {
            const { proposer, interpreter } = createProviders(env, library, catalogue);
            return new ConversationCommandUseCase(runtime, repository, proposer, interpreter, env.ADSEED_SEEDS_PER_SUBJECT, seeds, catalogue, { maxMessages: env.ADSEED_CONVERSATION_MAX_MESSAGES });
          },
        },
        AgentConsumers,
      ],
    };
  }
}

export const AgentService: ServiceDefinition<typeof AgentEnv> = {
  name: 'agent',
  env: AgentEnv,
  module: (runtime, env, options) => AgentModule.register(runtime, env, options),
};
