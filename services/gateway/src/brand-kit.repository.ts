import { BrandKit, BrandKitKeys, type FontFormat } from '@adseed/contracts';
import { ObjectNotFoundError, type ObjectInfo, type ObjectStore, OBJECT_STORE } from '@adseed/storage';
import { Inject, Injectable } from '@nestjs/common';
import { STATE_BUCKET } from './gateway.env';

/**
 * Brand kits in the state bucket (layout in `BrandKitKeys`): every version written once, the
 * current one copied to `current.json`, font files content-addressed. Only this class touches
 * those keys on the gateway's side.
 */
@Injectable()
export class BrandKitRepository {
  constructor(
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(STATE_BUCKET) readonly bucket: string,
  ) {}

  async current(tenant: string): Promise<BrandKit | undefined> {
    return this.read(BrandKitKeys.current(tenant));
  }

  async version(tenant: string, version: number): Promise<BrandKit | undefined> {
    return this.read(BrandKitKeys.version(tenant, version));
  }

  /** The version first (the generation service reads versions), then the pointer to it. */
  async save(kit: BrandKit): Promise<void> {
    const body = Buffer.from(JSON.stringify(kit, null, 2));
    const options = { contentType: 'application/json', metadata: { tenant: kit.tenant, version: String(kit.version) } };
    await this.store.put(this.bucket, BrandKitKeys.version(kit.tenant, kit.version), body, options);
    await this.store.put(this.bucket, BrandKitKeys.current(kit.tenant), body, options);
  }

  async saveFont(tenant: string, sha256: string, format: FontFormat, data: Buffer, metadata: Record<string, string>): Promise<string> {
    const key = BrandKitKeys.font(tenant, sha256, format);
    await this.store.put(this.bucket, key, data, { contentType: `font/${format === 'otf' ? 'otf' : format}`, metadata: { tenant, ...metadata } });
    return `${this.bucket}/${key}`;
  }

  async statFont(tenant: string, key: string): Promise<ObjectInfo | undefined> {
    if (!key.startsWith(BrandKitKeys.fontPrefix(tenant))) return undefined;
    return this.store.stat(this.bucket, key);
  }

  private async read(key: string): Promise<BrandKit | undefined> {
    try {
      return BrandKit.parse(JSON.parse((await this.store.get(this.bucket, key)).body.toString('utf8')));
    } catch (error) {
      if (error instanceof ObjectNotFoundError) return undefined;
      throw error;
    }
  }
}
