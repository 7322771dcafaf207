import { randomUUID } from 'node:crypto';
import { GenerateAdReply, splitStoragePath, type GenerateAdRequest } from '@adseed/contracts';
import type { Buckets } from '@adseed/config';
import { ServiceError } from '@adseed/messaging';
import { BUCKETS, CLOCK, LOGGER, METRICS, SERVICE_CONFIG, type Clock } from '@adseed/platform';
import { OBJECT_STORE, ObjectNotFoundError, type ObjectStore } from '@adseed/storage';
import type { Logger, ServiceMetrics } from '@adseed/telemetry';
import { Inject, Injectable } from '@nestjs/common';
import { AD_GENERATOR, type AdGenerator } from './generators/ad-generator.port';
import { InvalidAdRequestError, InvalidImageError } from './generators/ad-request.errors';
import { measureFidelity } from './fidelity/measure-fidelity';
import { BrandKitReader } from './brand-kit.reader';
import type { GenerationEnv } from './generation.env';

/**
 * Generate: reads the chosen seed and the brand image by path, composes the ad, writes the PNG
 * to the ads bucket and returns only its path.
 */
@Injectable()
export class GenerateAdUseCase {
  /** The square ad's side (`ADSEED_AD_SIZE`). */
  private readonly size: number;
  /** `local` or `replicate`: a request for the other one (an A/B configuration) is refused. */
  private readonly generatorKind: 'local' | 'replicate';

  constructor(
    @Inject(AD_GENERATOR) private readonly generator: AdGenerator,
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(BUCKETS) private readonly buckets: Buckets,
    @Inject(METRICS) private readonly metrics: ServiceMetrics,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SERVICE_CONFIG) config: GenerationEnv,
    /** The tenant's current brand kit, when it has one, sets headline, call to action and logo. */
    private readonly brandKits: BrandKitReader,
    @Inject(CLOCK) private readonly now: Clock,
  ) {
    this.size = config.ADSEED_AD_SIZE;
    this.generatorKind = config.ADSEED_GENERATOR;
  }

  /** `key`: where in the ads bucket (a single ad's key derives from its request, so redeliveries overwrite one object). */
  async execute(request: GenerateAdRequest, options: { key?: string } = {}): Promise<GenerateAdReply> {
    if (request.generator && request.generator !== this.generatorKind) {
      throw new ServiceError(
        422,
        'generator_unavailable',
        `this deployment generates with ${this.generatorKind} (ADSEED_GENERATOR), not ${request.generator}`,
        [{ field: 'generator', reason: 'not configured here' }],
      );
    }
    const seedPath = request.seedPath;
    const brandPath = request.brandPath ?? (await this.latestBrand(request.tenant));
    const [seed, brand, kit] = await Promise.all([
      this.read(request.tenant, seedPath, 'seedPath'),
      this.read(request.tenant, brandPath, 'brandPath'),
      this.brandKits.load(request.tenant),
    ]);
    const end = this.metrics.generationDuration.startTimer({ generator: this.generator.name });
    let ad;
    try {
      ad = await this.generator.generate({
        seed,
        brand,
        size: this.size,
        ...(request.headline ? { headline: request.headline } : {}),
        ...(request.callToAction ? { callToAction: request.callToAction } : {}),
        ...(request.subject ? { subject: request.subject } : {}),
        ...(request.segment ? { segment: request.segment } : {}),
        ...(request.corner ? { corner: request.corner } : {}),
        ...(request.packScale !== undefined ? { packScale: request.packScale } : {}),
        ...(request.promptTemplate ? { promptTemplate: request.promptTemplate } : {}),
        ...(kit ? { brandKit: kit.request } : {}),
      });
    } catch (error) {
      if (error instanceof InvalidImageError)
        throw new ServiceError(422, 'invalid_image', error.message, [{ field: imageField(error.field), reason: error.message }]);
      if (error instanceof InvalidAdRequestError)
        throw new ServiceError(400, 'validation_failed', error.message, [{ field: error.field, reason: error.message }]);
      throw error;
    } finally {
      end();
    }
    const key = options.key ?? `${request.tenant}/${this.now().toISOString().slice(0, 10)}/${randomUUID()}.png`;
    const fidelity = (await measureFidelity(this.logger, ad, brand)).result;
    await this.store.put(this.buckets.ad, key, ad.png, {
      contentType: 'image/png',
      metadata: {
        tenant: request.tenant,
        seed: seedPath,
        brand: brandPath,
        generator: ad.generator,
        width: String(ad.width),
        height: String(ad.height),
        ...(request.subject ? { subject: request.subject } : {}),
        ...(fidelity ? { fidelity: String(fidelity.score), 'fidelity-located': fidelity.located } : {}),
        ...(kit ? { 'brand-kit-version': String(kit.kit.version) } : {}),
      },
    });
    if (kit && kit.warnings.length > 0) this.logger.warn('brand kit incomplete', { tenant: request.tenant, version: kit.kit.version, warnings: kit.warnings });
    return {
      path: `${this.buckets.ad}/${key}`,
      seedPath,
      brandPath,
      generator: ad.generator,
      width: ad.width,
      height: ad.height,
      ...(fidelity ? { fidelity: fidelity.score } : {}),
      ...(kit ? { brandKitVersion: kit.kit.version } : {}),
    };
  }

  /**
   * The reply for an ad already written at `key` (ads bucket), rebuilt from the metadata written
   * with it; undefined when there is none, or its metadata is not complete (an ad written before
   * its size was recorded, or a file-store write interrupted before its metadata).
   */
  async stored(key: string): Promise<GenerateAdReply | undefined> {
    const info = await this.store.stat(this.buckets.ad, key);
    if (!info) return undefined;
    const m = info.metadata;
    const reply = GenerateAdReply.safeParse({
      path: `${this.buckets.ad}/${key}`,
      seedPath: m.seed,
      brandPath: m.brand,
      generator: m.generator,
      width: m.width === undefined ? undefined : Number(m.width),
      height: m.height === undefined ? undefined : Number(m.height),
      ...(m.fidelity !== undefined ? { fidelity: Number(m.fidelity) } : {}),
      ...(m['brand-kit-version'] !== undefined ? { brandKitVersion: Number(m['brand-kit-version']) } : {}),
    });
    return reply.success ? reply.data : undefined;
  }

  /** Tenants can only use their own images: keys start with the tenant id. */
  private async read(tenant: string, path: string, field: string): Promise<Buffer> {
    const { bucket, key } = splitStoragePath(path);
    if (!key.startsWith(`${tenant}/`)) throw new ServiceError(404, 'not_found', `no image at ${path}`, [{ field, reason: 'not found for this tenant' }]);
    try {
      return (await this.store.get(bucket, key)).body;
    } catch (error) {
      if (error instanceof ObjectNotFoundError) throw new ServiceError(404, 'not_found', `no image at ${path}`, [{ field, reason: 'not found' }]);
      throw error;
    }
  }

  private async latestBrand(tenant: string): Promise<string> {
    const { items } = await this.store.list(this.buckets.brand, `${tenant}/`, { limit: 1000 });
    const latest = items.sort((a, b) => b.lastModified.getTime() - a.lastModified.getTime())[0];
    if (!latest) {
      throw new ServiceError(404, 'no_brand_image', 'no brand image for this tenant: upload one with kind=brand or pass brandPath', [
        { field: 'brandPath', reason: 'required when the tenant has no brand image' },
      ]);
    }
    return `${latest.bucket}/${latest.key}`;
  }
}

/** The request field an unusable image came from. */
function imageField(field: string): string {
  if (field === 'brand') return 'brandPath';
  if (field === 'logo') return 'brandKit.logoPath';
  return 'seedPath';
}
