import type { ProductFidelity } from '@adseed/contracts';
import type { Logger } from '@adseed/telemetry';
import type { GeneratedAd } from '../generators/ad-generator.port';
import { productFidelity } from './product-fidelity';

/**
 * Product fidelity of a generated ad: from the placement the generator reports, else by search.
 * A failure to measure never fails the ad; it is a warning, and the ad has no score (so a
 * review policy treats it as needing a person).
 */
export async function measureFidelity(logger: Logger, ad: GeneratedAd, brand: Buffer): Promise<{ result?: ProductFidelity; warnings: string[] }> {
  try {
    return { result: await productFidelity(ad.png, brand, ad.placement), warnings: [] };
  } catch (error) {
    logger.warn('product fidelity could not be measured', { error: (error as Error).message });
    return { warnings: ['product fidelity could not be measured'] };
  }
}
