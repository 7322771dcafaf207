import { createHash } from 'node:crypto';
import { z } from 'zod';

/** A tenant id: the unit of access control. Lower-case so it can prefix storage keys safely. */
export const TenantId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be 1-63 lower-case letters, digits or dashes');
export type TenantId = z.infer<typeof TenantId>;

export const AssetKind = z.enum(['seed', 'brand', 'ad']);
export type AssetKind = z.infer<typeof AssetKind>;

/** A storage path `<bucket>/<key>`: services pass these, never image bytes. */
export const StoragePath = z
  .string()
  .min(3)
  .max(1024)
  .regex(/^[a-z0-9][a-z0-9.-]{1,62}\/[^\0\\]+$/, 'must look like <bucket>/<key>')
  .refine((p) => !p.split('/').some((s) => s === '..' || s === '.' || s === ''), 'must not contain empty, "." or ".." segments');
export type StoragePath = z.infer<typeof StoragePath>;

export const AssetId = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'must be 1-128 letters, digits, "_" or "-"');
export type AssetId = z.infer<typeof AssetId>;

export const Tag = z.string().trim().min(1).max(64);
export const Tags = z.array(Tag).max(32);

export const ModelRef = z.object({ id: z.string(), version: z.string() });
export type ModelRef = z.infer<typeof ModelRef>;

export const EncoderName = z.enum(['clip', 'caption']);
export type EncoderName = z.infer<typeof EncoderName>;

/** What a caller needs to fix a bad request: which field, and why. */
export const ErrorIssue = z.object({ field: z.string(), reason: z.string() });
export type ErrorIssue = z.infer<typeof ErrorIssue>;

export const ErrorBody = z.object({
  error: z.object({
    status: z.number().int(),
    code: z.string(),
    message: z.string(),
    issues: z.array(ErrorIssue).optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

export function splitStoragePath(path: string): { bucket: string; key: string } {
  const slash = path.indexOf('/');
  return { bucket: path.slice(0, slash), key: path.slice(slash + 1) };
}

/** Turns zod issues into the `{ field, reason }` list our error bodies carry. */
export function toErrorIssues(error: z.ZodError, prefix = ''): ErrorIssue[] {
  return error.issues.map((issue) => ({
    field: [prefix, ...issue.path.map(String)].filter(Boolean).join('.') || '(body)',
    reason: issue.message,
  }));
}

/**
 * An asset's id is derived from its storage path, so the same object always has the same id,
 * whoever announces it (upload, CLI, a data team's event, a storage notification).
 */
export const assetIdFor = (path: string): string => createHash('sha256').update(path).digest('hex').slice(0, 32);
