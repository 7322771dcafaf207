import { dirname, join } from 'node:path';
import { CLOCK, configureHttpApp, PlatformModule, Readiness, SERVICE_CONFIG, type Clock, type ServiceDefinition, type ServiceRuntime } from '@adseed/platform';
import { Module, type DynamicModule, type INestApplication, type OnApplicationShutdown } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, NestFactory } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { MulterModule, type NestExpressApplication } from '@nestjs/platform-express';
import { json, static as serveStatic } from 'express';
import type { Tracing } from '@adseed/telemetry';
import { AssetAccessService } from './asset-access.service';
import { AssetsService } from './assets.service';
import { AuditInterceptor } from './audit.interceptor';
import { AuditLog } from './audit.log';
import { BrandKitRepository } from './brand-kit.repository';
import { BrandKitService } from './brand-kit.service';
import { CatalogueService } from './catalogue.service';
import { ConversationEventsHub } from './conversation-events.hub';
import { ConversationsService } from './conversations.service';
import { CreateAdUseCase } from './create-ad.use-case';
import { DocsController } from './docs.controller';
import { EventStreams } from './event-stream';
import { GATEWAY_CONTROLLERS } from './gateway.controllers';
import { ExperimentsService } from './experiments.service';
import { GatewayEnv, STATE_BUCKET } from './gateway.env';
import { GuardrailsModule } from './guardrails.module';
import { HttpErrorFilter } from './http-error.filter';
import { ApiError } from './http-errors';
import { answerParseErrorsAsJson } from './http-parse-errors';
import { JobEventsHub } from './job-events.hub';
import { JobStreamService } from './job-stream.service';
import { JobsConsumers } from './jobs.consumers';
import { JobsRepository } from './jobs.repository';
import { JobsService } from './jobs.service';
import { methodNotAllowed } from './method-not-allowed';
import { openApiDocument } from './openapi.document';
import type { OpenAPIObject } from '@nestjs/swagger';
import { RateLimitGuard, rateLimitThrottlers } from './rate-limit.guard';
import { ReviewService } from './review.service';
import { SearchService } from './search.service';
import { securityHeaders } from './security-headers';
import { SessionTokens } from './session.tokens';
import { SingleAds } from './single-ads';
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
      controllers: GATEWAY_CONTROLLERS,
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
  // The OpenAPI document, generated from this app's controllers: served at /docs/openapi.json, and
  // the routes the 405 answer knows.
  const document = openApiDocument(app, GatewayModule);
  app.get(DocsController).serve(document);
  app.use(methodNotAllowed(document));
  app.use(json({ limit: env.ADSEED_MAX_BODY_BYTES }));
  app.use('/docs/assets', serveStatic(dirname(require.resolve('swagger-ui-dist/package.json')), { index: false }));
  app.use(serveStatic(PUBLIC_DIR, { index: 'index.html' }));
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

/**
 * The gateway's OpenAPI document without a running gateway (`scripts/openapi.js`, the specs): the
 * same module in a preview app, in which no provider is instantiated, so its runtime's ports can
 * be placeholders and its config the defaults.
 */
export async function buildOpenApiDocument(): Promise<OpenAPIObject> {
  const placeholders = new Proxy({} as ServiceRuntime, { get: () => ({}) });
  const module = GatewayModule.forRoot(placeholders, GatewayEnv.parse({}), { http: false });
  const app = await NestFactory.create(module, { preview: true, logger: false, abortOnError: false });
  try {
    return openApiDocument(app, GatewayModule);
  } finally {
    await app.close();
  }
}

export const GatewayService: ServiceDefinition<typeof GatewayEnv> = {
  name: 'gateway',
  env: GatewayEnv,
  module: (runtime, env, options) => GatewayModule.forRoot(runtime, env, options),
};

export { ApiError };
