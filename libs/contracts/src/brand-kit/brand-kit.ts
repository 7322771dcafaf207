import { z } from 'zod';
import { MULTIPART_PART_NAMES, StoragePath, TenantId } from '../common';

/**
 * A tenant's brand kit: the colours, font and logo the generator uses for headline, call to
 * action and logo. Versioned: every `PUT /v1/brand-kit` writes a new immutable version, jobs pin
 * the version current when they were created, and each ad's provenance names the version used.
 *
 * State bucket:
 *   brand-kits/<tenant>/current.json            the latest version (a copy of it)
 *   brand-kits/<tenant>/versions/<000001>.json  every version, written once
 *   brand-kits/<tenant>/fonts/<sha256 prefix>.<ext>  uploaded font files (content-addressed)
 */

/** `#rrggbb`, stored lower-case. */
export const HexColour = z
  .string()
  .trim()
  .regex(/^#[0-9a-fA-F]{6}$/, 'must be a hex colour #rrggbb')
  .transform((c) => c.toLowerCase())
  .meta({ example: '#0a7d4f' });

export const BrandKitColours = z.object({
  /** Call-to-action button. */
  primary: HexColour,
  /** Accent: the call-to-action label when it contrasts with the primary colour. */
  secondary: HexColour,
  /** Headline text (the band behind it is dark for a light colour, light for a dark one). */
  text: HexColour,
});
export type BrandKitColours = z.infer<typeof BrandKitColours>;

export const FontFormat = z.enum(['ttf', 'otf', 'woff', 'woff2']);
export type FontFormat = z.infer<typeof FontFormat>;

/** A font file as validated on upload (parsed, not sniffed by extension). */
export const BrandKitFont = z.object({
  path: StoragePath,
  family: z.string().max(200),
  /** The font's full name, e.g. "Lobster Regular". */
  name: z.string().max(200),
  format: FontFormat,
  bytes: z.number().int().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type BrandKitFont = z.infer<typeof BrandKitFont>;

export const BrandKit = z.object({
  tenant: TenantId,
  version: z.number().int().min(1),
  colours: BrandKitColours,
  font: BrandKitFont.optional(),
  /** A brand image of the tenant (`brands/<tenant>/…`) placed in a corner the photo leaves free. */
  logoPath: StoragePath.optional(),
  updatedAt: z.string(),
  /** The API key's name (or `local`) that wrote this version. */
  updatedBy: z.string().max(200).optional(),
});
export type BrandKit = z.infer<typeof BrandKit>;

/** `PUT /v1/brand-kit`: the whole kit (a field left out is removed from the new version). */
export const PutBrandKitBody = z.object({
  colours: BrandKitColours,
  /** A font uploaded with `POST /v1/brand-kit/font` (its `path`). */
  fontPath: StoragePath.optional(),
  /** A brand image uploaded with `POST /v1/assets` (`kind=brand`). */
  logoPath: StoragePath.optional(),
});
export type PutBrandKitBody = z.infer<typeof PutBrandKitBody>;

export const BrandKitResponse = z.object({ brandKit: BrandKit });
export type BrandKitResponse = z.infer<typeof BrandKitResponse>;
export const UploadFontResponse = z.object({ font: BrandKitFont });
/** The font upload's form has the file part only: any other field is refused (400). */
export const UploadFontFields = z.object({}).strict();
export type UploadFontResponse = z.infer<typeof UploadFontResponse>;

/** The kit as an ad records it: which version, which font and logo. */
export const BrandKitUse = z.object({
  version: z.number().int().min(1),
  colours: BrandKitColours,
  font: z.object({ name: z.string(), sha256: z.string() }).optional(),
  logoPath: StoragePath.optional(),
  /** Where the logo went in the ad, when it was placed. */
  logoPlacement: z.object({ left: z.number().int(), top: z.number().int(), width: z.number().int(), height: z.number().int() }).optional(),
});
export type BrandKitUse = z.infer<typeof BrandKitUse>;

/** Largest font file accepted (bytes); most single-style fonts are well under 1 MiB. */
export const BRAND_FONT_MAX_BYTES = 4 * 1024 * 1024;
/** The multipart body of `POST /v1/brand-kit/font` as a client sends it (its documentation). */
export const UploadFontMultipart = z
  .object({
    file: z
      .string()
      .min(1)
      .meta({ format: 'binary', description: `the font file, at most ${BRAND_FONT_MAX_BYTES} bytes` }),
  })
  .strict()
  .meta(MULTIPART_PART_NAMES);

const pad = (version: number): string => String(version).padStart(6, '0');

export const BrandKitKeys = {
  current: (tenant: string): string => `brand-kits/${tenant}/current.json`,
  version: (tenant: string, version: number): string => `brand-kits/${tenant}/versions/${pad(version)}.json`,
  font: (tenant: string, sha256: string, format: FontFormat): string => `brand-kits/${tenant}/fonts/${sha256.slice(0, 32)}.${format}`,
  fontPrefix: (tenant: string): string => `brand-kits/${tenant}/fonts/`,
} as const;
