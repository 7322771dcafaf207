import { ServiceRoutes } from '@adseed/contracts';
import { PlatformModule, RUNTIME, type ServiceDefinition, type ServiceRuntime } from '@adseed/platform';
import { traceMethods } from '@adseed/telemetry';
import { Inject, Injectable, Module, type DynamicModule, type OnApplicationBootstrap } from '@nestjs/common';
import { GenerateAdUseCase } from './generate-ad.use-case';
import { GenerationEnv } from './generation.env';
import type { AdGenerator } from './generators/ad-generator.port';
import { LocalAdGenerator } from './generators/local-ad.generator';
import { ReplicateAdGenerator } from './generators/replicate-ad.generator';

export const GENERATION_GROUP = 'generation';

function createGenerator(env: GenerationEnv): AdGenerator {
  switch (env.ADSEED_GENERATOR) {
    case 'local':
      return new LocalAdGenerator();
    case 'replicate':
      return new ReplicateAdGenerator({
        apiToken: env.REPLICATE_API_TOKEN ?? '',
        model: env.REPLICATE_MODEL,
        ...(env.REPLICATE_MODEL_VERSION ? { version: env.REPLICATE_MODEL_VERSION } : {}),
        baseUrl: env.REPLICATE_BASE_URL,
        timeoutMs: env.REPLICATE_TIMEOUT_MS,
        maxAttempts: env.REPLICATE_MAX_ATTEMPTS,
        breaker: { failureThreshold: env.REPLICATE_BREAKER_FAILURES, cooldownMs: env.REPLICATE_BREAKER_COOLDOWN_MS },
      });
  }
}

@Injectable()
export class GenerationConsumers implements OnApplicationBootstrap {
  constructor(
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly generate: GenerateAdUseCase,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { bus, store, buckets } = this.runtime;
    await store.ensureBucket(buckets.ad);
    await bus.ensureTopics([ServiceRoutes.generateAd.request]);
    await bus.respond(ServiceRoutes.generateAd, { group: GENERATION_GROUP }, (m) => this.generate.execute(m.value));
  }
}

@Module({})
export class GenerationModule {
  static register(runtime: ServiceRuntime, env: GenerationEnv, options: { http: boolean }): DynamicModule {
    return {
      module: GenerationModule,
      imports: [PlatformModule.forRoot(runtime, options)],
      providers: [{ provide: GenerateAdUseCase, useFactory: () => new GenerateAdUseCase(runtime, traceMethods(createGenerator(env), 'AdGenerator', { methods: ['generate'] }), env.ADSEED_AD_SIZE) }, GenerationConsumers],
    };
  }
}

export const GenerationService: ServiceDefinition<typeof GenerationEnv> = {
  name: 'generation',
  env: GenerationEnv,
  module: (runtime, env, options) => GenerationModule.register(runtime, env, options),
};
