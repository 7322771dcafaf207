import { dirname, join } from 'node:path';
import { CLOCK, configureHttpApp, PlatformModule, Readiness, SERVICE_CONFIG, type Clock, type ServiceDefinition, type ServiceRuntime } from '@adseed/platform';
import { Module, type DynamicModule, type INestApplication, type OnApplicationShutdown } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, NestFactory } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { MulterModule, type NestExpressApplication } from '@nestjs/platform-express';
import { json, static as serveStatic } from 'express';
import type { Tracing } from '@adseed/telemetry';
import { AdsController } from './ads.controller';
import { AssetAccessService } from './asset-access.service';
import { AssetsController } from './assets.controller';
import { AssetsService } from './assets.service';
import { AuditController } from './audit.controller';
import { AuditInterceptor } from './audit.interceptor';
import { AuditLog } from './audit.log';
import { BrandKitController } from './brand-kit.controller';
import { BrandKitRepository } from './brand-kit.repository';
import { BrandKitService } from './brand-kit.service';
import { CatalogueService } from './catalogue.service';
import { ConversationEventsHub } from './conversation-events.hub';
import { ConversationsController } from './conversations.controller';
import { ConversationsService } from './conversations.service';
import { CreateAdUseCase } from './create-ad.use-case';
import { DocsController } from './docs.controller';
import { EventStreams } from './event-stream';
import { ExperimentsController } from './experiments.controller';
import { ExperimentsService } from './experiments.service';
import { GatewayEnv, STATE_BUCKET } from './gateway.env';
import { GuardrailsModule } from './guardrails.module';
import { HttpErrorFilter } from './http-error.filter';
import { ApiError } from './http-errors';
import { answerParseErrorsAsJson } from './http-parse-errors';
import { JobEventsHub } from './job-events.hub';
import { JobStreamService } from './job-stream.service';
import { JobsConsumers } from './jobs.consumers';
import { JobsController } from './jobs.controller';
import { JobsRepository } from './jobs.repository';
import { JobsService } from './jobs.service';
import { methodNotAllowed } from './method-not-allowed';
import { RateLimitGuard, rateLimitThrottlers } from './rate-limit.guard';
import { ReportsController } from './reports.controller';
import { ReviewService } from './review.service';
import { ReviewsController } from './reviews.controller';
import { SearchController } from './search.controller';
import { SearchService } from './search.service';
import { securityHeaders } from './security-headers';
import { SessionController } from './session.controller';
import { SessionTokens } from './session.tokens';
import { SignOutController } from './sign-out.controller';
import { SingleAds } from './single-ads';
import { SubjectsController } from './subjects.controller';
import { TenantGuard } from './tenant.guard';
import { TokenBucketStorage } from './token-bucket.storage';

export const PUBLIC_DIR = join(__dirname, '..', 'public');
/** The longest multipart field value: a 2,000-character caption of 3-byte UTF-8 characters fits. */
const UPLOAD_FIELD_BYTES = 8 * 1024;

/** Flushes this process's spans when the gateway stops (no-op in the one-process mode). */
class TracingFlush implements OnApplicationShutdown {
  constructor(private readonly tracing: Tracing | undefined) {}
  async onApplicationShutdown(): Promise<void> {
    await this.tracing?.shutdown();
  }
}

const controllers = [
  AssetsController,
  SearchController,
  ConversationsController,
  AdsController,
  SubjectsController,
  ReportsController,
  DocsController,
  JobsController,
  ReviewsController,
  AuditController,
  ExperimentsController,
  BrandKitController,
  SessionController,
  SignOutController,
];

/** Use cases and services: each injects the ports it needs (PlatformModule) and the gateway's config (SERVICE_CONFIG). */
const services = [
  AssetsService,
  AssetAccessService,
  SearchService,
  CatalogueService,
  ConversationsService,
  ConversationEventsHub,
  CreateAdUseCase,
  SingleAds,
  EventStreams,
  // Creative jobs (`/v1/jobs`): state in the state bucket.
  JobsRepository,
  JobsService,
  JobEventsHub,
  JobStreamService,
  JobsConsumers,
  // Roles, review, the audit log and blind A/B: state in the state bucket.
  AuditLog,
  ReviewService,
  ExperimentsService,
  // The tenant's brand kit: versions and font files in the state bucket.
  BrandKitRepository,
  BrandKitService,
  TenantGuard,
];

/** Where jobs, reviews, the audit log and brand kits keep their state. */
const stateBucket = (env: GatewayEnv): string => env.ADSEED_BUCKET_STATE;

/** The web UI's session tokens, signed for the configured keys, on the platform clock. */
const sessionTokens = (env: GatewayEnv, now: Clock): SessionTokens =>
  new SessionTokens(env.ADSEED_API_KEYS, env.ADSEED_SESSION_SECRET, env.ADSEED_SESSION_TTL_SECONDS, () => now().getTime());

/** Cross-cutting: errors as JSON, the audit log, the rate limit. */
const enhancers = [
  { provide: APP_FILTER, useClass: HttpErrorFilter },
  { provide: APP_INTERCEPTOR, useClass: AuditInterceptor },
  { provide: APP_GUARD, useClass: RateLimitGuard },
];

@Module({})
export class GatewayModule {
  static forRoot(runtime: ServiceRuntime, env: GatewayEnv, options: { http: boolean }): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        // Its metrics name tenants: with API keys on, never on the user-facing port without a token.
        PlatformModule.forRoot(runtime, { ...options, config: env, metrics: { protect: env.ADSEED_API_KEYS.size > 0 } }),
        MulterModule.register({
          defParamCharset: 'utf8',
          limits: { fileSize: env.ADSEED_MAX_UPLOAD_BYTES, files: 1, fields: 10, fieldSize: UPLOAD_FIELD_BYTES },
        }),
        GuardrailsModule,
        ThrottlerModule.forRoot({ throttlers: rateLimitThrottlers(env), storage: new TokenBucketStorage() }),
      ],
      controllers,
      providers: [
        { provide: STATE_BUCKET, useFactory: stateBucket, inject: [SERVICE_CONFIG] },
        { provide: SessionTokens, useFactory: sessionTokens, inject: [SERVICE_CONFIG, CLOCK] },
        { provide: TracingFlush, useValue: new TracingFlush(runtime.tracing) },
        ...services,
        ...enhancers,
      ],
    };
  }
}

/** Builds the gateway's HTTP app: body limits, the web UI, Swagger UI assets, errors as JSON. */
export async function createGatewayApp(runtime: ServiceRuntime, env: GatewayEnv): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(GatewayModule.forRoot(runtime, env, { http: true }), {
    bufferLogs: true,
    bodyParser: false,
  });
  answerParseErrorsAsJson(app.getHttpServer());
  // Request ids before anything that can answer (405s, 413s from the body parser).
  configureHttpApp(app);
  app.disable('x-powered-by');
  app.use(securityHeaders());
  app.use(methodNotAllowed());
  app.use(json({ limit: env.ADSEED_MAX_BODY_BYTES }));
  app.use('/docs/assets', serveStatic(dirname(require.resolve('swagger-ui-dist/package.json')), { index: false }));
  app.use(serveStatic(PUBLIC_DIR, { index: 'index.html' }));
  app.enableShutdownHooks();
  const buckets = [runtime.buckets.seed, runtime.buckets.brand, runtime.buckets.ad, env.ADSEED_BUCKET_STATE];
  if (env.ADSEED_IMAGE_GUARDRAIL !== 'off') buckets.push(env.ADSEED_BUCKET_QUARANTINE);
  for (const bucket of buckets) await runtime.store.ensureBucket(bucket);
  app.get(Readiness).requireBuckets(...buckets);
  if (env.ADSEED_STORAGE_NOTIFY_ARN) {
    if (!runtime.store.enableNotifications) throw new Error('ADSEED_STORAGE_NOTIFY_ARN is set but this object store has no bucket notifications');
    for (const bucket of [runtime.buckets.seed, runtime.buckets.brand]) await runtime.store.enableNotifications(bucket, env.ADSEED_STORAGE_NOTIFY_ARN);
    runtime.logger.info('bucket notifications enabled', { buckets: [runtime.buckets.seed, runtime.buckets.brand], target: env.ADSEED_STORAGE_NOTIFY_ARN });
  }
  return app;
}

export const GatewayService: ServiceDefinition<typeof GatewayEnv> = {
  name: 'gateway',
  env: GatewayEnv,
  module: (runtime, env, options) => GatewayModule.forRoot(runtime, env, options),
};

export { ApiError };
