import { GenerationTopics, JobTopics } from '@adseed/contracts';
import { PlatformModule, RUNTIME, type ServiceDefinition, type ServiceRuntime } from '@adseed/platform';
import { traceMethods } from '@adseed/telemetry';
import type { Subscription } from '@adseed/messaging';
import { Inject, Injectable, Module, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { GenerateAdUseCase } from './generate-ad.use-case';
import { GenerationEnv } from './generation.env';
import type { AdGenerator } from './generators/ad-generator.port';
import { LocalAdGenerator } from './generators/local-ad.generator';
import { ReplicateAdGenerator } from './generators/replicate-ad.generator';
import { RenderJobAdUseCase } from './render-job-ad.use-case';
import { SingleAdUseCase } from './single-ad.use-case';
import { BrandKitReader } from './brand-kit.reader';

export const GENERATION_GROUP = 'generation';
/** Every generation replica joins this group: a job's ads (keyed job id + index) spread over them. */
export const GENERATION_JOBS_GROUP = 'generation-jobs';

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

const GENERATOR = Symbol('AdGenerator');

@Injectable()
export class GenerationConsumers implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly subscriptions: Subscription[] = [];

  constructor(
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    private readonly singleAd: SingleAdUseCase,
    private readonly renderJobAd: RenderJobAdUseCase,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { bus, store, buckets } = this.runtime;
    await store.ensureBucket(buckets.ad);
    await bus.ensureTopics([GenerationTopics.singleAdRequested, GenerationTopics.singleAdCompleted]);
    this.subscriptions.push(
      await bus.subscribe(GenerationTopics.singleAdRequested, { group: GENERATION_GROUP }, async (m) => {
        await this.singleAd.execute(m);
      }),
    );
    await bus.ensureTopics([JobTopics.adRequested, JobTopics.adGenerated, JobTopics.adFailed]);
    this.subscriptions.push(
      await bus.subscribe(JobTopics.adRequested, { group: GENERATION_JOBS_GROUP }, async (m) => {
        await this.renderJobAd.execute(m);
      }),
    );
  }

  /** Leaves the groups on shutdown, so another replica (or the next start) takes the work over. */
  async onApplicationShutdown(): Promise<void> {
    for (const subscription of this.subscriptions.splice(0)) await subscription.close();
  }
}

@Module({})
export class GenerationModule {
  /** `generator` replaces the one `ADSEED_GENERATOR` names (a composition's choice, e.g. a test generator behind the port). */
  static register(runtime: ServiceRuntime, env: GenerationEnv, options: { http: boolean }, generator?: AdGenerator): DynamicModule {
    return {
      module: GenerationModule,
      imports: [PlatformModule.forRoot(runtime, options)],
      providers: [
        { provide: GENERATOR, useFactory: () => traceMethods(generator ?? createGenerator(env), 'AdGenerator', { methods: ['generate'] }) },
        { provide: BrandKitReader, useValue: new BrandKitReader(runtime.store, env.ADSEED_BUCKET_STATE) },
        {
          provide: GenerateAdUseCase,
          inject: [GENERATOR, BrandKitReader],
          useFactory: (generator: AdGenerator, brandKits: BrandKitReader) => new GenerateAdUseCase(runtime, generator, env.ADSEED_AD_SIZE, env.ADSEED_GENERATOR, brandKits),
        },
        { provide: SingleAdUseCase, inject: [GenerateAdUseCase], useFactory: (generate: GenerateAdUseCase) => new SingleAdUseCase(runtime, generate) },
        {
          provide: RenderJobAdUseCase,
          inject: [GENERATOR, BrandKitReader],
          useFactory: (generator: AdGenerator, brandKits: BrandKitReader) =>
            new RenderJobAdUseCase(runtime, generator, { generatorKind: env.ADSEED_GENERATOR, stateBucket: env.ADSEED_BUCKET_STATE, brandKits }),
        },
        GenerationConsumers,
      ],
    };
  }
}

export const GenerationService: ServiceDefinition<typeof GenerationEnv> = {
  name: 'generation',
  env: GenerationEnv,
  module: (runtime, env, options) => GenerationModule.register(runtime, env, options),
};
