import { createHash } from 'node:crypto';
import { z } from 'zod';

/** A tenant id: the unit of access control. Lower-case so it can prefix storage keys safely. */
export const TenantId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be 1-63 lower-case letters, digits or dashes');
export type TenantId = z.infer<typeof TenantId>;

export const AssetKind = z.enum(['seed', 'brand', 'ad']);
export type AssetKind = z.infer<typeof AssetKind>;

/** A storage path `<bucket>/<key>`: services pass these, never image bytes. */
export const StoragePath = z
  .string()
  .min(3)
  .max(1024)
  // One bucket, then key segments that are neither empty, "." nor ".." (the refine below says so
  // in its own words; the pattern says it to OpenAPI), without NUL or backslash.
  // eslint-disable-next-line no-control-regex -- NUL is excluded on purpose
  .regex(/^[a-z0-9][a-z0-9.-]{1,62}(\/([^\x00\\/.][^\x00\\/]*|\.[^\x00\\/.][^\x00\\/]*|\.\.[^\x00\\/]+))+$/, 'must look like <bucket>/<key>')
  .refine((p) => !p.split('/').some((s) => s === '..' || s === '.' || s === ''), 'must not contain empty, "." or ".." segments');
export type StoragePath = z.infer<typeof StoragePath>;

export const AssetId = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'must be 1-128 letters, digits, "_" or "-"');
export type AssetId = z.infer<typeof AssetId>;

/** What String.prototype.trim removes, as a character-class body, spelled out: JavaScript's, Python's and JSON Schema's `\s` differ. */
export const TRIMMED = '\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff';
/** A character trimming keeps: a text that has one is not blank. */
export const NOT_BLANK = new RegExp(`[^${TRIMMED}]`);
/** What the gateway accepts in `X-Tenant-Id` before lower-casing it (`TenantId` after). */
export const TENANT_HEADER_PATTERN = /^([A-Za-z0-9][A-Za-z0-9-]{0,62})?$/;
/**
 * JSON Schema for what a `.refine()` checks and JSON Schema cannot infer from it (merged into the
 * schema's JSON Schema with `.meta()`): at least one of `fields`.
 */
export const atLeastOneOf = (fields: string[]) => ({ anyOf: fields.map((field) => ({ required: [field] })) });
/** JSON Schema: a multipart part name busboy accepts (it rejects a nameless or malformed part header). */
export const MULTIPART_PART_NAMES = { propertyNames: { pattern: '^[A-Za-z0-9_.-]+$' } };
/** JSON Schema: exactly one of two fields. */
export const exactlyOneOf = (a: string, b: string) => ({
  oneOf: [
    { required: [a], not: { required: [b] } },
    { required: [b], not: { required: [a] } },
  ],
});
const codePoints = (text: string): number => {
  let n = 0;
  for (const _ of text) n++;
  return n;
};
/**
 * A text of at most `max` characters as sent, counted as JSON Schema's `maxLength` counts them
 * (code points: an emoji is one character, not two UTF-16 units), and documented so.
 */
export const chars = (max: number) =>
  z
    .string()
    .refine((s) => codePoints(s) <= max, { message: `Too big: expected string to have <=${max} characters` })
    .meta({ maxLength: max });
/** Like `chars`, trimmed, and not blank (the document says so with a pattern). */
export const nonBlank = (max: number, message = 'must not be empty') => chars(max).trim().regex(NOT_BLANK, message);

export const Tag = nonBlank(64);
export const Tags = z.array(Tag).max(32);

/**
 * What an asset may be used for. `licence` is free text ("CC BY-SA 4.0", "owned", "Getty
 * #12345"); the literal `none` marks an asset without usage rights. An asset whose licence is
 * `none`, or whose `expiresAt` has passed, is never returned by search or shown by the agent.
 * `channels`, when present, lists where it may appear ("social", "display", ...): a search for
 * another channel skips it.
 */
const CHANNEL = new RegExp(`^[${TRIMMED}]*[A-Za-z0-9][A-Za-z0-9_-]{0,31}[${TRIMMED}]*$`);
export const Rights = z.object({
  licence: nonBlank(200).optional(),
  attribution: chars(500).trim().optional(),
  expiresAt: z.iso.datetime({ offset: true }).optional(),
  // Checked as sent (surrounding spaces and capitals allowed), stored trimmed and lower-case.
  channels: z.array(z.string().regex(CHANNEL, 'must be 1-32 letters, digits, "_" or "-"').trim().toLowerCase()).max(16).optional(),
});
export type Rights = z.infer<typeof Rights>;
export const NO_LICENCE = 'none';

/** Why an asset may not be used now, or undefined when it may (optionally for one channel). */
export function rightsProblem(
  rights: Rights | undefined,
  now: Date,
  options: { channel?: string; requireLicence?: boolean } = {},
): 'unlicensed' | 'expired' | 'channel' | undefined {
  const { channel, requireLicence = false } = options;
  if (!rights?.licence) return requireLicence ? 'unlicensed' : undefined;
  if (rights.licence.toLowerCase() === NO_LICENCE) return 'unlicensed';
  if (rights.expiresAt && Date.parse(rights.expiresAt) <= now.getTime()) return 'expired';
  if (channel && rights.channels && rights.channels.length > 0 && !rights.channels.includes(channel)) return 'channel';
  return undefined;
}

/** Rights as object-store user metadata (`licence`, `attribution`, `expires-at`, `channels`), so they travel with the object. */
export function rightsToMetadata(rights: Rights | undefined): Record<string, string> {
  if (!rights) return {};
  return {
    ...(rights.licence ? { licence: rights.licence } : {}),
    ...(rights.attribution ? { attribution: rights.attribution } : {}),
    ...(rights.expiresAt ? { 'expires-at': rights.expiresAt } : {}),
    ...(rights.channels?.length ? { channels: rights.channels.join(',') } : {}),
  };
}

/** The rights an object's metadata carries, or undefined (invalid values are dropped, not guessed). */
export function rightsFromMetadata(metadata: Record<string, string>): Rights | undefined {
  const parsed = Rights.safeParse({
    ...(metadata['licence'] ? { licence: metadata['licence'] } : {}),
    ...(metadata['attribution'] ? { attribution: metadata['attribution'] } : {}),
    ...(metadata['expires-at'] ? { expiresAt: metadata['expires-at'] } : {}),
    ...(metadata['channels']
      ? {
          channels: metadata['channels']
            .split(',')
            .map((c) => c.trim())
            .filter(Boolean),
        }
      : {}),
  });
  return parsed.success && Object.keys(parsed.data).length > 0 ? parsed.data : undefined;
}

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
    requestId: z
      .string()
      .describe(
        "The request's id, also sent as the `X-Request-Id` response header (the caller's own when it sent a well-formed one): every log line of the request carries it.",
      ),
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
