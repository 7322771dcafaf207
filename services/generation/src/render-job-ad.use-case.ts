import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { AdProvenance, JobStateKeys, JobTopics, splitStoragePath, type AdFailed, type AdGenerated, type AdRequested } from '@adseed/contracts';
import { DEFAULT_RETRY, EVENT_BUS, ServiceError, type EventBus, type IncomingMessage } from '@adseed/messaging';
import { CLOCK, LOGGER, METRICS, SERVICE_CONFIG, type Clock } from '@adseed/platform';
import { OBJECT_STORE, ObjectNotFoundError, type ObjectInfo, type ObjectStore } from '@adseed/storage';
import { currentTraceId, type Logger, type ServiceMetrics } from '@adseed/telemetry';
import { Inject, Injectable } from '@nestjs/common';
import { AD_GENERATOR, type AdGenerator, type GeneratedAd } from './generators/ad-generator.port';
import { InvalidAdRequestError, InvalidImageError } from './generators/ad-request.errors';
import { measureFidelity } from './fidelity/measure-fidelity';
import { BrandKitNotFoundError, BrandKitReader, brandKitUse } from './brand-kit.reader';
import { GENERATION_SERVICE, type GenerationEnv } from './generation.env';

type Outcome = { kind: 'generated'; event: AdGenerated } | { kind: 'failed'; event: AdFailed } | { kind: 'skipped'; reason: string };

/** A failure the caller can see and act on: the ad is failed, the job goes on. */
class AdFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Renders one ad of a job. Idempotent: the ad's paths come from its job id and index, and the
 * provenance record is written last, so a redelivered request whose provenance exists is
 * announced again from the record instead of rendered again.
 */
@Injectable()
export class RenderJobAdUseCase {
  /** Deliveries before a transient failure becomes a failed ad (the bus's own limit). */
  readonly maxAttempts = DEFAULT_RETRY.maxAttempts;
  /** `local` or `replicate`: what ADSEED_GENERATOR chose for this replica. */
  private readonly generatorKind: 'local' | 'replicate';
  /** Where job state lives (`ADSEED_BUCKET_STATE`): a cancelled job's marker. */
  private readonly stateBucket: string;

  constructor(
    @Inject(AD_GENERATOR) private readonly generator: AdGenerator,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(METRICS) private readonly metrics: ServiceMetrics,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SERVICE_CONFIG) config: GenerationEnv,
    /** Reads the brand-kit version a job pinned. */
    private readonly brandKits: BrandKitReader,
    @Inject(CLOCK) private readonly now: Clock,
  ) {
    this.generatorKind = config.ADSEED_GENERATOR;
    this.stateBucket = config.ADSEED_BUCKET_STATE;
  }

  async execute(message: IncomingMessage<AdRequested>): Promise<Outcome> {
    const outcome = await this.outcome(message);
    const { bus } = this;
    const key = message.value.jobId;
    if (outcome.kind === 'generated') await bus.publish(JobTopics.adGenerated, { key, value: outcome.event });
    if (outcome.kind === 'failed') await bus.publish(JobTopics.adFailed, { key, value: outcome.event });
    if (outcome.kind === 'skipped') this.logger.info('job ad skipped', { jobId: key, index: message.value.index, reason: outcome.reason });
    return outcome;
  }

  private async outcome(message: IncomingMessage<AdRequested>): Promise<Outcome> {
    const request = message.value;
    if (await this.exists(this.stateBucket, JobStateKeys.cancel(request.tenant, request.jobId))) return { kind: 'skipped', reason: 'job cancelled' };
    const existing = await this.readProvenance(request);
    if (existing) return { kind: 'generated', event: this.generated(request, existing, true) };
    try {
      return { kind: 'generated', event: await this.render(request, message.headers) };
    } catch (error) {
      if (error instanceof AdFailure) return { kind: 'failed', event: this.failed(request, error.code, error.message) };
      if (error instanceof BrandKitNotFoundError) return { kind: 'failed', event: this.failed(request, 'brand_kit_not_found', error.message) };
      if (error instanceof InvalidImageError || error instanceof InvalidAdRequestError)
        return { kind: 'failed', event: this.failed(request, 'invalid_image', error.message) };
      if (error instanceof ServiceError && error.status < 500) return { kind: 'failed', event: this.failed(request, error.code, error.message) };
      // Transient: let the bus retry with back-off; on the last delivery, fail the ad rather than stall the job.
      if (message.attempt < this.maxAttempts) throw error;
      const reason = `gave up after ${message.attempt} attempts: ${(error as Error).message}`;
      return { kind: 'failed', event: this.failed(request, error instanceof ServiceError ? error.code : 'generation_failed', reason) };
    }
  }

  private async render(request: AdRequested, headers: Record<string, string>): Promise<AdGenerated> {
    if (request.generator && request.generator !== this.generatorKind) {
      throw new AdFailure('generator_unavailable', `this deployment generates with ${this.generatorKind} (ADSEED_GENERATOR), not ${request.generator}`);
    }
    const [seed, brand, kit] = await Promise.all([
      this.read(request.tenant, request.seedPath, 'seed'),
      this.read(request.tenant, request.brandPath, 'brand'),
      request.brandKitVersion !== undefined ? this.brandKits.load(request.tenant, request.brandKitVersion) : undefined,
    ]);
    const end = this.metrics.generationDuration.startTimer({ generator: this.generator.name });
    let ad: GeneratedAd;
    try {
      ad = await this.generator.generate({
        seed: seed.body,
        brand: brand.body,
        width: request.width,
        height: request.height,
        look: request.look,
        ...(request.headline ? { headline: request.headline } : {}),
        ...(request.callToAction ? { callToAction: request.callToAction } : {}),
        ...(request.subject ? { subject: request.subject } : {}),
        ...(request.segment ? { segment: request.segment } : {}),
        ...(kit ? { brandKit: kit.request } : {}),
      });
    } finally {
      end();
    }
    const adTarget = splitStoragePath(request.adPath);
    const provenanceTarget = splitStoragePath(request.provenancePath);
    const fidelity = await measureFidelity(this.logger, ad, brand.body);
    await this.store.put(adTarget.bucket, adTarget.key, ad.png, {
      contentType: 'image/png',
      metadata: {
        tenant: request.tenant,
        job: request.jobId,
        index: String(request.index),
        seed: request.seedPath,
        brand: request.brandPath,
        generator: ad.generator,
        provenance: request.provenancePath,
        ...(fidelity.result ? { fidelity: String(fidelity.result.score) } : {}),
        ...(kit ? { 'brand-kit-version': String(kit.kit.version) } : {}),
      },
    });
    const provenance = AdProvenance.parse({
      schema: 'adseed.ad-provenance.v1',
      ad: {
        path: request.adPath,
        format: request.format,
        width: ad.width,
        height: ad.height,
        index: request.index,
        variant: request.variant,
        look: request.look,
        sha256: createHash('sha256').update(ad.png).digest('hex'),
      },
      job: { id: request.jobId, tenant: request.tenant },
      ...(request.segment ? { segment: request.segment } : {}),
      ...(request.subject ? { subject: request.subject } : {}),
      seed: {
        path: request.seedPath,
        ...(seed.info.metadata.licence ? { licence: seed.info.metadata.licence } : {}),
        ...(seed.info.metadata.attribution ? { attribution: seed.info.metadata.attribution } : {}),
        ...(ad.seed ? { width: ad.seed.width, height: ad.seed.height, upscale: round(ad.seed.upscale), crop: ad.seed.crop } : {}),
      },
      brand: { path: request.brandPath, ...(ad.placement ? { placement: ad.placement } : {}) },
      generator: { name: ad.generator, model: ad.model?.id ?? ad.generator, version: ad.model?.version ?? 'unknown' },
      ...(ad.prompt ? { prompt: ad.prompt } : {}),
      ...(kit ? { brandKit: brandKitUse(kit, ad) } : {}),
      ...(request.headline ? { headline: request.headline } : {}),
      ...(request.callToAction ? { callToAction: request.callToAction } : {}),
      ...(request.scores ? { scores: request.scores } : {}),
      warnings: [
        ...(ad.warnings ?? []),
        ...(kit?.warnings ?? []),
        ...(ad.seed?.mirrored ? ['the seed was mirrored so that this variant differs from the others made from it'] : []),
        ...fidelity.warnings,
      ],
      ...(fidelity.result ? { fidelity: fidelity.result } : {}),
      ...(traceIdOf(headers) ? { traceId: traceIdOf(headers) } : {}),
      renderedBy: { service: GENERATION_SERVICE, host: hostname(), pid: process.pid },
      createdAt: this.now().toISOString(),
    });
    // Written last: its presence means the ad is complete.
    await this.store.put(provenanceTarget.bucket, provenanceTarget.key, Buffer.from(JSON.stringify(provenance, null, 2)), {
      contentType: 'application/json',
      metadata: { tenant: request.tenant, job: request.jobId, index: String(request.index) },
    });
    return this.generated(request, provenance, false);
  }

  private generated(request: AdRequested, provenance: AdProvenance, reused: boolean): AdGenerated {
    return {
      jobId: request.jobId,
      tenant: request.tenant,
      index: request.index,
      format: request.format,
      width: provenance.ad.width,
      height: provenance.ad.height,
      variant: request.variant,
      ...(request.segment ? { segment: request.segment } : {}),
      ...(request.subject ? { subject: request.subject } : {}),
      seedPath: request.seedPath,
      path: request.adPath,
      provenancePath: request.provenancePath,
      generator: provenance.generator.name,
      warnings: provenance.warnings,
      ...(provenance.fidelity ? { fidelity: provenance.fidelity.score } : {}),
      reused,
      generatedAt: provenance.createdAt,
    };
  }

  private failed(request: AdRequested, code: string, reason: string): AdFailed {
    return {
      jobId: request.jobId,
      tenant: request.tenant,
      index: request.index,
      format: request.format,
      variant: request.variant,
      ...(request.segment ? { segment: request.segment } : {}),
      seedPath: request.seedPath,
      code: code.slice(0, 64),
      reason: reason.slice(0, 2000),
      failedAt: this.now().toISOString(),
    };
  }

  private async readProvenance(request: AdRequested): Promise<AdProvenance | undefined> {
    const { bucket, key } = splitStoragePath(request.provenancePath);
    try {
      const parsed = AdProvenance.safeParse(JSON.parse((await this.store.get(bucket, key)).body.toString('utf8')));
      // A record that does not parse is rewritten by rendering again.
      return parsed.success ? parsed.data : undefined;
    } catch (error) {
      if (error instanceof ObjectNotFoundError || error instanceof SyntaxError) return undefined;
      throw error;
    }
  }

  /** Tenants can only use their own images: keys start with the tenant id. */
  private async read(tenant: string, path: string, what: 'seed' | 'brand'): Promise<{ body: Buffer; info: ObjectInfo }> {
    const { bucket, key } = splitStoragePath(path);
    if (!key.startsWith(`${tenant}/`)) throw new AdFailure('not_found', `no ${what} image at ${path} for this tenant`);
    try {
      return await this.store.get(bucket, key);
    } catch (error) {
      if (error instanceof ObjectNotFoundError) throw new AdFailure('not_found', `no ${what} image at ${path}`);
      throw error;
    }
  }

  private async exists(bucket: string, key: string): Promise<boolean> {
    return (await this.store.stat(bucket, key)) !== undefined;
  }
}

const round = (v: number): number => Math.round(v * 100) / 100;

/** The trace this ad was made in: the active span's, else the one the request carried. */
function traceIdOf(headers: Record<string, string>): string | undefined {
  return currentTraceId() ?? /^[0-9a-f]{2}-([0-9a-f]{32})-/.exec(headers.traceparent ?? '')?.[1];
}
