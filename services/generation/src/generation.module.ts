import { GenerationTopics, JobTopics } from '@adseed/contracts';
import type { Buckets } from '@adseed/config';
import { EVENT_BUS, type EventBus, type Subscription } from '@adseed/messaging';
import { BUCKETS, PlatformModule, SERVICE_CONFIG, type ServiceDefinition, type ServiceRuntime } from '@adseed/platform';
import { OBJECT_STORE, type ObjectStore } from '@adseed/storage';
import { traceMethods } from '@adseed/telemetry';
import { Inject, Injectable, Module, type DynamicModule, type OnApplicationBootstrap, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import { BrandKitReader } from './brand-kit.reader';
import { GenerateAdUseCase } from './generate-ad.use-case';
import { GENERATION_SERVICE, GenerationEnv } from './generation.env';
import { AD_GENERATOR, type AdGenerator } from './generators/ad-generator.port';
import { LocalAdGenerator } from './generators/local-ad.generator';
import { ReplicateAdGenerator } from './generators/replicate-ad.generator';
import { RenderJobAdUseCase } from './render-job-ad.use-case';
import { SingleAdUseCase } from './single-ad.use-case';

export const GENERATION_GROUP = 'generation';
/** Every generation replica joins this group: a job's ads (keyed job id + index) spread over them. */
export const GENERATION_JOBS_GROUP = 'generation-jobs';
/** A generator the composition chose instead of the one `ADSEED_GENERATOR` names (e.g. a test generator behind the port). */
export const CUSTOM_AD_GENERATOR = Symbol('CUSTOM_AD_GENERATOR');

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

/** The composition's generator, else the one `ADSEED_GENERATOR` names; every generation a span. */
export const adGeneratorProvider: Provider = {
  provide: AD_GENERATOR,
  inject: [SERVICE_CONFIG, { token: CUSTOM_AD_GENERATOR, optional: true }],
  useFactory: (env: GenerationEnv, custom?: AdGenerator): AdGenerator => traceMethods(custom ?? createGenerator(env), 'AdGenerator', { methods: ['generate'] }),
};

/** Brand kits from the service's store and its state bucket (`ADSEED_BUCKET_STATE`). */
export const brandKitReaderProvider: Provider = {
  provide: BrandKitReader,
  inject: [OBJECT_STORE, SERVICE_CONFIG],
  useFactory: (store: ObjectStore, env: GenerationEnv) => new BrandKitReader(store, env.ADSEED_BUCKET_STATE),
};

/** Thin edge: subscribes the use cases to their topics; all logic lives in the use cases. */
@Injectable()
export class GenerationConsumers implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly subscriptions: Subscription[] = [];

  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(BUCKETS) private readonly buckets: Buckets,
    private readonly singleAd: SingleAdUseCase,
    private readonly renderJobAd: RenderJobAdUseCase,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { bus } = this;
    await this.store.ensureBucket(this.buckets.ad);
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

/**
 * The generation service. Its ports (bus, store, buckets, metrics, clock, config as
 * `GenerationEnv`) come from the global PlatformModule; `forRoot` provides them from a runtime, a
 * test imports `PlatformModule.forRoot(...)` beside it and overrides what it needs (e.g. AD_GENERATOR).
 */
@Module({
  providers: [adGeneratorProvider, brandKitReaderProvider, GenerateAdUseCase, SingleAdUseCase, RenderJobAdUseCase, GenerationConsumers],
})
export class GenerationModule {
  /** `generator` replaces the one `ADSEED_GENERATOR` names (a composition's choice, e.g. a test generator behind the port). */
  static forRoot(runtime: ServiceRuntime, env: GenerationEnv, options: { http: boolean }, generator?: AdGenerator): DynamicModule {
    return {
      module: GenerationModule,
      imports: [PlatformModule.forRoot(runtime, { ...options, config: env })],
      providers: generator ? [{ provide: CUSTOM_AD_GENERATOR, useValue: generator }] : [],
    };
  }
}

export const GenerationService: ServiceDefinition<typeof GenerationEnv> = {
  name: GENERATION_SERVICE,
  env: GenerationEnv,
  module: (runtime, env, options) => GenerationModule.forRoot(runtime, env, options),
};
