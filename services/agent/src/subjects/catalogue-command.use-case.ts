import type { CatalogueCommand, CatalogueReply } from '@adseed/contracts';
import { ServiceError } from '@adseed/messaging';
import type { SubjectCatalogueService } from './subject-catalogue.service';

/** Seeds that clear the relevance floor for a name, best first, and the best cosine any seed reached. */
export type FindSeeds = (tenant: string, text: string, k: number) => Promise<{ seeds: { assetId: string; path: string }[]; bestScore?: number }>;

/** How many seeds a subject added by name is checked against (and counted up to). */
const ADD_CHECK_SEEDS = 50;

/** The catalogue's REST-facing commands: list, add by name, edit, and the seed-gap report. */
export class CatalogueCommandUseCase {
  constructor(
    private readonly catalogue: SubjectCatalogueService,
    private readonly findSeeds: FindSeeds,
  ) {}

  async execute(command: CatalogueCommand): Promise<CatalogueReply> {
    switch (command.type) {
      case 'list':
        return { subjects: await this.catalogue.list(command.tenant, command.includeDisabled) };
      case 'add':
        return { subjects: [await this.add(command)] };
      case 'patch':
        return { subjects: [await this.patch(command)] };
      case 'seed-gaps':
        return { gaps: (await this.catalogue.read(command.tenant)).seedGaps(command.limit) };
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
    const found = await this.findSeeds(tenant, subject.name, ADD_CHECK_SEEDS);
    if (found.seeds.length === 0) {
      await this.catalogue.recordGap(tenant, 'subject', subject.name, found.bestScore);
      throw new ServiceError(422, 'no_matching_seeds', `nothing in your library clears the relevance floor for "${subject.name}": upload photos of it first (noted in the seed-gap report)`, [
        { field: 'name', reason: 'no seed above the relevance floor' },
      ]);
    }
    return this.catalogue.update(tenant, (c) => {
      const entry = c.addUserSubject(subject.name, found.seeds);
      if (subject.description !== undefined || subject.audience !== undefined) c.edit(c.nameOf(entry), { description: subject.description, audience: subject.audience });
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
