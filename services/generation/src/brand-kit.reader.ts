import { BrandKit, BrandKitKeys, splitStoragePath, type BrandKitUse } from '@adseed/contracts';
import { ObjectNotFoundError, type ObjectStore } from '@adseed/storage';
import type { AdBrandKit, GeneratedAd } from './generators/ad-generator.port';

/** A kit ready for a generator, the record it came from, and what could not be loaded. */
export interface LoadedBrandKit {
  kit: BrandKit;
  request: AdBrandKit;
  /** A font or logo the kit names but the store no longer holds: the ad is made without it. */
  warnings: string[];
}

/** A pinned kit version that is not stored: it will not appear later, so the ad fails rather than retries. */
export class BrandKitNotFoundError extends Error {}

/** Versions are immutable, so a loaded one is kept; a job's ads share it. */
const CACHE_MAX = 8;

/**
 * Reads a tenant's brand kit (written by the gateway, layout in `BrandKitKeys`) and the bytes of
 * its font and logo. A given version is read as such (a job pins the version it started with);
 * without one, the tenant's current kit (single ads, conversations).
 */
export class BrandKitReader {
  private readonly cache = new Map<string, LoadedBrandKit>();

  constructor(
    private readonly store: ObjectStore,
    private readonly stateBucket: string,
  ) {}

  async load(tenant: string, version?: number): Promise<LoadedBrandKit | undefined> {
    const cached = version !== undefined ? this.cache.get(`${tenant}/${version}`) : undefined;
    if (cached) return cached;
    const key = version !== undefined ? BrandKitKeys.version(tenant, version) : BrandKitKeys.current(tenant);
    const record = await this.readJson(key);
    if (record === undefined) {
      if (version !== undefined) throw new BrandKitNotFoundError(`brand kit version ${version} of ${tenant} is not stored (${this.stateBucket}/${key})`);
      return undefined;
    }
    const kit = BrandKit.parse(record);
    if (kit.tenant !== tenant) throw new Error(`brand kit at ${key} belongs to another tenant`);
    const cacheKey = `${tenant}/${kit.version}`;
    const hit = this.cache.get(cacheKey);
    if (hit) return hit;

    const warnings: string[] = [];
    const [font, logo] = await Promise.all([
      kit.font ? this.readOwned(tenant, kit.font.path, 'font', warnings) : undefined,
      kit.logoPath ? this.readOwned(tenant, kit.logoPath, 'logo', warnings) : undefined,
    ]);
    const loaded: LoadedBrandKit = {
      kit,
      request: { version: kit.version, colours: kit.colours, ...(font ? { font } : {}), ...(logo ? { logo } : {}) },
      warnings,
    };
    if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(cacheKey, loaded);
    return loaded;
  }

  private async readJson(key: string): Promise<unknown> {
    try {
      return JSON.parse((await this.store.get(this.stateBucket, key)).body.toString('utf8')) as unknown;
    } catch (error) {
      if (error instanceof ObjectNotFoundError) return undefined;
      throw error;
    }
  }

  private async readOwned(tenant: string, path: string, what: 'font' | 'logo', warnings: string[]): Promise<Buffer | undefined> {
    const { bucket, key } = splitStoragePath(path);
    const owned = what === 'font' ? bucket === this.stateBucket && key.startsWith(BrandKitKeys.fontPrefix(tenant)) : key.startsWith(`${tenant}/`);
    if (!owned) {
      warnings.push(`the brand kit's ${what} ${path} is not this tenant's; the ad was made without it`);
      return undefined;
    }
    try {
      return (await this.store.get(bucket, key)).body;
    } catch (error) {
      if (!(error instanceof ObjectNotFoundError)) throw error;
      warnings.push(`the brand kit's ${what} ${path} is no longer stored; the ad was made without it`);
      return undefined;
    }
  }
}

/**
 * What an ad records of the kit it was made with: the version and colours, and the font and logo
 * only as far as the generator reports using them (a prompt-based generator takes the colours only).
 */
export function brandKitUse(loaded: LoadedBrandKit, ad: GeneratedAd): BrandKitUse {
  const { kit } = loaded;
  return {
    version: kit.version,
    colours: kit.colours,
    ...(ad.brandKit?.font ? { font: ad.brandKit.font } : {}),
    ...(kit.logoPath && ad.brandKit?.logoPlacement ? { logoPath: kit.logoPath, logoPlacement: ad.brandKit.logoPlacement } : {}),
  };
}
