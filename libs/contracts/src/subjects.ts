import { z } from 'zod';
import { AssetId, atLeastOneOf, chars, nonBlank, StoragePath, TenantId } from './common';
import { keysetCursor } from './paging';

/**
 * A subject the agent can propose: what the tenant's own library shows, drawn from captions and
 * tags (merged when they mean the same thing), from zero-shot labels, or added by a person.
 */
export const SubjectSource = z.enum(['library', 'zero-shot', 'user']);
export const Subject = z.object({
  id: z.string(),
  name: z.string(),
  /** Why it sells: the agent's reason when it proposes this subject. */
  description: z.string().optional(),
  /** Who it suits, e.g. "families with young kids". */
  audience: z.string().optional(),
  /** Indexed seeds that show it (0 for a subject added by name until the library grows). */
  seedCount: z.number().int().min(0),
  exampleSeeds: z.array(z.object({ assetId: AssetId, path: StoragePath })),
  /** Other names merged into this one ("red running shoes" into "running shoe"). */
  aliases: z.array(z.string()),
  source: SubjectSource,
  disabled: z.boolean(),
  updatedAt: z.string(),
});
export type Subject = z.infer<typeof Subject>;

export const CreateSubjectBody = z.object({
  name: nonBlank(80),
  description: nonBlank(500).optional(),
  audience: nonBlank(200).optional(),
});
export type CreateSubjectBody = z.infer<typeof CreateSubjectBody>;
export const PatchSubjectBody = z
  .object({
    description: chars(500).trim().optional(),
    audience: chars(200).trim().optional(),
    disabled: z.boolean().optional(),
  })
  .refine((b) => b.description !== undefined || b.audience !== undefined || b.disabled !== undefined, {
    message: 'give at least one of description, audience or disabled',
    path: ['description'],
  })
  .meta(atLeastOneOf(['description', 'audience', 'disabled']));
export type PatchSubjectBody = z.infer<typeof PatchSubjectBody>;

/** A segment or subject for which nothing in the library cleared the relevance floor. */
export const SeedGap = z.object({
  kind: z.enum(['segment', 'subject']),
  text: z.string(),
  count: z.number().int().min(1),
  /** The best cosine any seed reached (under the floor), when a search ran. */
  bestScore: z.number().optional(),
  firstSeenAt: z.string(),
  lastSeenAt: z.string(),
});
export type SeedGap = z.infer<typeof SeedGap>;

/**
 * The subject listing's cursor: the last subject's sort key (most seeds first, then name, then
 * id). Names come from tags, caption heads (up to a caption's 2,000 characters) or a person.
 */
export const SubjectCursor = keysetCursor([
  { name: 'seedCount', kind: 'int' },
  { name: 'name', kind: 'text', maxChars: 2000 },
  { name: 'id', kind: 'text', maxChars: 64 },
] as const);
/** The seed-gap report's cursor: the last gap's sort key (most frequent, most recent, kind, text). */
export const SeedGapCursor = keysetCursor([
  { name: 'count', kind: 'int' },
  { name: 'lastSeenAt', kind: 'text', maxChars: 64 },
  { name: 'kind', kind: 'enum', values: ['segment', 'subject'] },
  { name: 'text', kind: 'text', maxChars: 500 },
] as const);
export const ListSubjectsQuery = z.object({
  includeDisabled: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: SubjectCursor.schema.optional(),
});
/** `nextCursor` is present while more pages follow. */
export const ListSubjectsResponse = z.object({ items: z.array(Subject), nextCursor: z.string().optional() });
export const SubjectResponse = z.object({ subject: Subject });
export const SeedGapsQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(100), cursor: SeedGapCursor.schema.optional() });
export const SeedGapsResponse = z.object({ items: z.array(SeedGap), nextCursor: z.string().optional() });

const SubjectId = z.string().regex(/^[a-f0-9]{16}$/, 'must be a subject id');
export const CatalogueCommand = z.discriminatedUnion('type', [
  /** Pages of `limit` (all without it), after `cursor` (a previous reply's `nextCursor`). */
  z.object({
    type: z.literal('list'),
    tenant: TenantId,
    includeDisabled: z.boolean().default(false),
    limit: z.number().int().min(1).max(500).optional(),
    cursor: SubjectCursor.schema.optional(),
  }),
  z.object({ type: z.literal('add'), tenant: TenantId, subject: CreateSubjectBody }),
  z.object({ type: z.literal('patch'), tenant: TenantId, id: SubjectId, patch: PatchSubjectBody }),
  z.object({ type: z.literal('seed-gaps'), tenant: TenantId, limit: z.number().int().min(1).max(500).default(100), cursor: SeedGapCursor.schema.optional() }),
  /** Edits by subject name, applied now or when a subject of that name appears (e.g. a library's descriptions shipped as data). */
  z.object({
    type: z.literal('edit-by-name'),
    tenant: TenantId,
    edits: z
      .array(z.object({ name: nonBlank(80), description: nonBlank(500).optional(), audience: nonBlank(200).optional(), disabled: z.boolean().optional() }))
      .min(1)
      .max(1000),
  }),
]);
export type CatalogueCommand = z.infer<typeof CatalogueCommand>;
export const CatalogueReply = z.object({ subjects: z.array(Subject).optional(), gaps: z.array(SeedGap).optional(), nextCursor: z.string().optional() });
export type CatalogueReply = z.infer<typeof CatalogueReply>;
