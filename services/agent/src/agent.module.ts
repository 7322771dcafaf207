import { ConversationTopics, ServiceRoutes } from '@adseed/contracts';
import { ServiceError } from '@adseed/messaging';
import { PlatformModule, RUNTIME, type ServiceDefinition, type ServiceRuntime } from '@adseed/platform';
import { Inject, Injectable, Module, type DynamicModule, type OnApplicationBootstrap } from '@nestjs/common';
import { AgentEnv } from './agent.env';
import { ConversationCommandUseCase } from './conversation-command.use-case';
import { ConversationRepository } from './conversation.repository';
import { CatalogueSubjectProposer } from './policy/catalogue-subject.proposer';
import type { ReplyInterpreter, SubjectProposer } from './policy/conversation.model';
import { OpenAiChatClient } from './policy/openai-chat.client';
import { OpenAiChatReplyInterpreter } from './policy/openai-chat.interpreter';
import { OpenAiChatProposer } from './policy/openai-chat.proposer';
import { RuleReplyInterpreter } from './policy/rule-reply.interpreter';

export const AGENT_GROUP = 'agent';

/** The catalogue proposer works with no language model; an OpenAI-compatible one is optional. */
function createProviders(runtime: ServiceRuntime, env: AgentEnv): { proposer: SubjectProposer; interpreter: ReplyInterpreter } {
  const catalogue = new CatalogueSubjectProposer({
    embedTexts: async (texts) => {
      const reply = await runtime.bus.request(ServiceRoutes.embedTexts, { key: 'catalogue', value: { texts, encoders: ['caption'] } });
      if (!reply.caption) throw new Error('no caption encoder loaded');
      return reply.caption.map((v) => Float32Array.from(v));
    },
  });
  const rules = new RuleReplyInterpreter();
  switch (env.ADSEED_LLM) {
    case 'catalogue':
      return { proposer: catalogue, interpreter: rules };
    case 'openai': {
      const client = new OpenAiChatClient({ baseUrl: env.OPENAI_BASE_URL, model: env.OPENAI_MODEL, apiKey: env.OPENAI_API_KEY, timeoutMs: env.OPENAI_TIMEOUT_MS });
      return { proposer: new OpenAiChatProposer({ client, fallback: catalogue }), interpreter: new OpenAiChatReplyInterpreter({ client, rules }) };
    }
  }
}

@Injectable()
export class AgentConsumers implements OnApplicationBootstrap {
  constructor(
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly repository: ConversationRepository,
    private readonly commands: ConversationCommandUseCase,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.repository.init();
    await this.runtime.bus.ensureTopics([ServiceRoutes.conversation.request, ConversationTopics.updated]);
    await this.runtime.bus.respond(ServiceRoutes.conversation, { group: AGENT_GROUP }, async (m) => {
      try {
        return await this.commands.execute(m.value);
      } catch (error) {
        if (error instanceof ServiceError) throw error;
        // The policy rejects what it cannot act on (e.g. an empty segment) with a plain Error.
        throw new ServiceError(422, 'conversation_rejected', (error as Error).message);
      }
    });
  }
}

@Module({})
export class AgentModule {
  static register(runtime: ServiceRuntime, env: AgentEnv, options: { http: boolean }): DynamicModule {
    return {
      module: AgentModule,
      imports: [PlatformModule.forRoot(runtime, options)],
      providers: [
        { provide: ConversationRepository, useFactory: () => new ConversationRepository(runtime.store, env.ADSEED_BUCKET_STATE) },
        {
          provide: ConversationCommandUseCase,
          inject: [ConversationRepository],
          useFactory: (repository: ConversationRepository) => {
            const { proposer, interpreter } = createProviders(runtime, env);
            return new ConversationCommandUseCase(runtime, repository, proposer, interpreter, env.ADSEED_SEEDS_PER_SUBJECT, { maxMessages: env.ADSEED_CONVERSATION_MAX_MESSAGES });
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
