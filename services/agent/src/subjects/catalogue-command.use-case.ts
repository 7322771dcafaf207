import { SeedGapCursor, SubjectCursor, type CatalogueCommand, type CatalogueReply } from '@adseed/contracts';
import { ServiceError } from '@adseed/messaging';
import { Injectable } from '@nestjs/common';
import { SeedFinder } from './seed-finder';
import { subjectOrder, SubjectCatalogueService } from './subject-catalogue.service';
import { seedGapOrder } from './tenant-catalogue';

/**
 * Keyset paging over a list in a total order: the cursor is the last item's sort key, so a page
 * resumes right after it even when items were added or removed meanwhile (offsets would skip or
 * repeat). Any well-formed cursor is a position in that order (the command's schema checked its
 * form). Paged here rather than in the gateway so a reply on the bus stays small at any
 * catalogue size.
 */
function page<T, K>(
  sorted: T[],
  order: (a: K, b: K) => number,
  keyOf: (item: T) => K,
  codec: { encode(key: K): string; decode(cursor: string): K | undefined },
  limit: number | undefined,
  cursor: string | undefined,
): { items: T[]; nextCursor?: string } {
  let items = sorted;
  if (cursor !== undefined) {
    const after = codec.decode(cursor);
    if (after === undefined)
      throw new ServiceError(400, 'validation_failed', 'cursor is not a nextCursor of this listing', [{ field: 'query.cursor', reason: 'invalid' }]);
    items = sorted.filter((item) => order(keyOf(item), after) > 0);
  }
  if (limit === undefined || items.length <= limit) return { items };
  const shown = items.slice(0, limit);
  return { items: shown, nextCursor: codec.encode(keyOf(shown[shown.length - 1])) };
}

/** How many seeds a subject added by name is checked against (and counted up to). */
const ADD_CHECK_SEEDS = 50;

/** The catalogue's REST-facing commands: list, add by name, edit, and the seed-gap report. */
@Injectable()
export class CatalogueCommandUseCase {
  constructor(
    private readonly catalogue: SubjectCatalogueService,
    /** Seeds that clear the relevance floor for a name, best first, and the best cosine any seed reached. */
    private readonly seeds: SeedFinder,
  ) {}

  async execute(command: CatalogueCommand): Promise<CatalogueReply> {
    switch (command.type) {
      case 'list': {
        const listed = page(
          await this.catalogue.list(command.tenant, command.includeDisabled),
          subjectOrder,
          (s) => ({ seedCount: s.seedCount, name: s.name, id: s.id }),
          SubjectCursor,
          command.limit,
          command.cursor,
        );
        return { subjects: listed.items, ...(listed.nextCursor ? { nextCursor: listed.nextCursor } : {}) };
      }
      case 'add':
        return { subjects: [await this.add(command)] };
      case 'patch':
        return { subjects: [await this.patch(command)] };
      case 'seed-gaps': {
        const gaps = (await this.catalogue.read(command.tenant)).seedGaps(Number.MAX_SAFE_INTEGER);
        const listed = page(
          gaps,
          seedGapOrder,
          (g) => ({ count: g.count, lastSeenAt: g.lastSeenAt, kind: g.kind, text: g.text }),
          SeedGapCursor,
          command.limit,
          command.cursor,
        );
        return { gaps: listed.items, ...(listed.nextCursor ? { nextCursor: listed.nextCursor } : {}) };
      }
      case 'edit-by-name':
        await this.catalogue.update(command.tenant, (c) => {
          for (const { name, ...edit } of command.edits) c.edit(name, edit);
        });
        return {};
    }
  }

  /** Accepted only when retrieval finds seeds above the floor: a subject the library cannot show is a gap, not a subject. */
  private async add(command: Extract<CatalogueCommand, { type: 'add' }>) {
    const { tenant, subject } = command;
    const found = await this.seeds.find(tenant, subject.name, ADD_CHECK_SEEDS);
    if (found.seeds.length === 0) {
      await this.catalogue.recordGap(tenant, 'subject', subject.name, found.bestScore);
      throw new ServiceError(
        422,
        'no_matching_seeds',
        `nothing in your library clears the relevance floor for "${subject.name}": upload photos of it first (noted in the seed-gap report)`,
        [{ field: 'name', reason: 'no seed above the relevance floor' }],
      );
    }
    return this.catalogue.update(tenant, (c) => {
      const entry = c.addUserSubject(subject.name, found.seeds);
      if (subject.description !== undefined || subject.audience !== undefined)
        c.edit(c.nameOf(entry), { description: subject.description, audience: subject.audience });
      return c.toSubject(entry);
    });
  }

  private async patch(command: Extract<CatalogueCommand, { type: 'patch' }>) {
    const catalogue = await this.catalogue.read(command.tenant);
    const entry = catalogue.byId(command.id);
    if (!entry) throw new ServiceError(404, 'not_found', `no subject ${command.id}`, [{ field: 'id', reason: 'unknown subject' }]);
    return this.catalogue.edit(command.tenant, entry, command.patch);
  }
}
