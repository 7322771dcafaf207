/**
 * Port for everything that turns a chosen seed photo plus a brand image into an ad.
 * Implementations: the built-in local compositor (no network, deterministic) and
 * prompt-based remote generators.
 */

/** Injection token of the service's `AdGenerator` (the one `ADSEED_GENERATOR` names). */
export const AD_GENERATOR = Symbol('AD_GENERATOR');

export interface AdRequest {
  seed: Buffer; // the chosen seed photo (JPEG/PNG/WebP bytes)
  brand: Buffer; // brand/product image, typically on a white background
  headline?: string; // optional text
  callToAction?: string; // optional button text
  subject?: string; // e.g. "golden retriever" (for prompt-based generators)
  segment?: string; // e.g. "young urban professionals"
  size?: number; // output square size, default 1080, min 1080, max 2048
  /** A non-square format (both or neither): the ad is exactly width × height; `size` is then ignored. */
  width?: number;
  height?: number;
  /**
   * Which look to take for this seed: 0 is the best crop and placement; higher looks take other
   * crops and placements (and, for prompt-based generators, another sampling seed), so the
   * variants of one seed differ.
   */
  look?: number;
  /** Put the pack in this corner (local generator; an A/B configuration's placement). */
  corner?: 'bottom-left' | 'bottom-right' | 'top-left' | 'top-right';
  /** Size of the pack box relative to the generator's default, 0.5–1.5 (local generator). */
  packScale?: number;
  /** A prompt template for prompt-based generators (`{subject}`, `{segment}`): an A/B configuration's. */
  promptTemplate?: string;
  /** The tenant's brand kit: colours for headline and call to action, a font file, a logo image. */
  brandKit?: AdBrandKit;
}

/** A brand kit as the generators take it: colours `#rrggbb`, the font and logo files' bytes. */
export interface AdBrandKit {
  version: number;
  colours: { primary: string; secondary: string; text: string };
  /** TTF, OTF, WOFF or WOFF2 bytes. */
  font?: Buffer;
  /** JPEG, PNG or WebP bytes; a white background is cut away as for the pack. */
  logo?: Buffer;
}

export interface GeneratedAd {
  png: Buffer;
  width: number;
  height: number;
  generator: string;
  /** Model and version behind the generator, for provenance. */
  model?: { id: string; version: string };
  /** The prompt a prompt-based generator was given. */
  prompt?: string;
  /** Things a person should know about this ad (e.g. a seed enlarged so much it looks soft). */
  warnings?: string[];
  /** How the seed was cropped and where the brand went (local generator). */
  seed?: { width: number; height: number; upscale: number; crop: { left: number; top: number; width: number; height: number }; mirrored: boolean };
  placement?: { left: number; top: number; width: number; height: number };
  /** What of the brand kit went into the ad (local generator): the font drawn and where the logo went. */
  brandKit?: { version: number; font?: { name: string; sha256: string }; logoPlacement?: { left: number; top: number; width: number; height: number } };
}

export interface AdGenerator {
  readonly name: string;
  generate(request: AdRequest): Promise<GeneratedAd>;
}
