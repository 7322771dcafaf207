/**
 * Port for everything that turns a chosen seed photo plus a brand image into an ad.
 * Implementations: the built-in local compositor (no network, deterministic) and
 * prompt-based remote generators.
 */
export interface AdRequest {
  seed: Buffer;            // the chosen seed photo (JPEG/PNG/WebP bytes)
  brand: Buffer;           // brand/product image, typically on a white background
  headline?: string;       // optional text
  callToAction?: string;   // optional button text
  subject?: string;        // e.g. "golden retriever" (for prompt-based generators)
  segment?: string;        // e.g. "young urban professionals"
  size?: number;           // output square size, default 1080, min 1080, max 2048
}

export interface GeneratedAd {
  png: Buffer;
  width: number;
  height: number;
  generator: string;
}

export interface AdGenerator {
  readonly name: string;
  generate(request: AdRequest): Promise<GeneratedAd>;
}
