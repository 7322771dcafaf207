import { BRAND_FONT_MAX_BYTES, FontFormat, splitStoragePath, type BrandKit, type BrandKitFont, type PutBrandKitBody } from '@adseed/contracts';
import { Injectable } from '@nestjs/common';
import { AssetsService } from './assets.service';
import { BrandKitRepository } from './brand-kit.repository';
import { inspectFont } from './font-file.inspector';
import { ApiError } from './http-errors';
import type { Principal } from './roles';

/**
 * The tenant's brand kit: read, replace (a new version each time), and font uploads. The
 * generation service reads the versions this writes; jobs pin the version current at creation.
 */
@Injectable()
export class BrandKitService {
  /** One writer per tenant at a time in this process, so two PUTs never get the same version. */
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly repository: BrandKitRepository,
    private readonly assets: AssetsService,
  ) {}

  async get(tenant: string): Promise<{ brandKit: BrandKit }> {
    const kit = await this.repository.current(tenant);
    if (!kit)
      throw new ApiError(404, 'no_brand_kit', 'this tenant has no brand kit yet: PUT /v1/brand-kit sets one', [{ field: 'tenant', reason: 'no brand kit' }]);
    return { brandKit: kit };
  }

  /** The current version number, or undefined without a kit (a job records it). */
  async currentVersion(tenant: string): Promise<number | undefined> {
    return (await this.repository.current(tenant))?.version;
  }

  async put(principal: Principal, body: PutBrandKitBody, now = new Date()): Promise<{ brandKit: BrandKit }> {
    const { tenant } = principal;
    const [font] = await Promise.all([
      body.fontPath ? this.uploadedFont(tenant, body.fontPath) : undefined,
      body.logoPath ? this.assets.assertBrandImage(tenant, body.logoPath, 'logoPath') : undefined,
    ]);
    const previous = this.locks.get(tenant) ?? Promise.resolve();
    const run = previous
      .catch(() => undefined)
      .then(async () => {
        const current = await this.repository.current(tenant);
        const kit: BrandKit = {
          tenant,
          version: (current?.version ?? 0) + 1,
          colours: body.colours,
          ...(font ? { font } : {}),
          ...(body.logoPath ? { logoPath: body.logoPath } : {}),
          updatedAt: now.toISOString(),
          updatedBy: principal.actor,
        };
        await this.repository.save(kit);
        return kit;
      });
    this.locks.set(tenant, run);
    try {
      return { brandKit: await run };
    } finally {
      if (this.locks.get(tenant) === run) this.locks.delete(tenant);
    }
  }

  /** Stores a validated font under its content hash: the same file twice is one object. */
  async uploadFont(tenant: string, file: { buffer: Buffer } | undefined): Promise<{ font: BrandKitFont }> {
    if (!file || file.buffer.length === 0)
      throw new ApiError(400, 'validation_failed', 'attach the font as the multipart field `file`', [{ field: 'file', reason: 'missing or empty' }]);
    const font = inspectFont(file.buffer, BRAND_FONT_MAX_BYTES);
    const path = await this.repository.saveFont(tenant, font.sha256, font.format, file.buffer, {
      family: font.family,
      name: font.name,
      format: font.format,
      sha256: font.sha256,
    });
    return { font: { path, family: font.family, name: font.name, format: font.format, bytes: font.bytes, sha256: font.sha256 } };
  }

  /** A font this tenant uploaded, described from the metadata stored with it at upload. */
  private async uploadedFont(tenant: string, path: string): Promise<BrandKitFont> {
    const { bucket, key } = splitStoragePath(path);
    const info = bucket === this.repository.bucket ? await this.repository.statFont(tenant, key) : undefined;
    if (!info)
      throw new ApiError(404, 'not_found', `no uploaded font at ${path}: upload it with POST /v1/brand-kit/font and pass the path it returns`, [
        { field: 'fontPath', reason: 'not a font of this tenant' },
      ]);
    const m = info.metadata;
    const format = FontFormat.safeParse(m.format);
    if (!format.success || !m.sha256 || !m.family)
      throw new ApiError(404, 'not_found', `no uploaded font at ${path}`, [{ field: 'fontPath', reason: 'not a font of this tenant' }]);
    return { path, family: m.family, name: m.name ?? m.family, format: format.data, bytes: info.size, sha256: m.sha256 };
  }
}
