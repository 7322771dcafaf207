import {
  Queries,
  type CatalogueCommand,
  type CatalogueReply,
  type CreateSubjectBody,
  type ListSubjectsQuery,
  type PatchSubjectBody,
  type SeedGapsQuery,
  type Subject,
} from '@adseed/contracts';
import { QUERY_CLIENT, type QueryClient } from '@adseed/platform';
import { Inject, Injectable } from '@nestjs/common';
import type { z } from 'zod';

/** The agent's subject catalogue and the seed-gap report, one query each. */
@Injectable()
export class CatalogueService {
  constructor(@Inject(QUERY_CLIENT) private readonly queries: QueryClient) {}

  async list(tenant: string, query: z.infer<typeof ListSubjectsQuery>): Promise<{ items: Subject[]; nextCursor?: string }> {
    const reply = await this.command({
      type: 'list',
      tenant,
      includeDisabled: query.includeDisabled,
      limit: query.limit,
      ...(query.cursor ? { cursor: query.cursor } : {}),
    });
    return { items: reply.subjects ?? [], ...(reply.nextCursor ? { nextCursor: reply.nextCursor } : {}) };
  }

  async add(tenant: string, subject: CreateSubjectBody): Promise<Subject> {
    return this.one(await this.command({ type: 'add', tenant, subject }));
  }

  async patch(tenant: string, id: string, patch: PatchSubjectBody): Promise<Subject> {
    return this.one(await this.command({ type: 'patch', tenant, id, patch }));
  }

  /** What the library is missing: segments and subjects nothing cleared the relevance floor for. */
  async seedGaps(tenant: string, query: z.infer<typeof SeedGapsQuery>) {
    const reply = await this.command({ type: 'seed-gaps', tenant, limit: query.limit, ...(query.cursor ? { cursor: query.cursor } : {}) });
    return { items: reply.gaps ?? [], ...(reply.nextCursor ? { nextCursor: reply.nextCursor } : {}) };
  }

  private one(reply: CatalogueReply): Subject {
    const [subject] = reply.subjects ?? [];
    if (!subject) throw new Error('the agent answered without the subject');
    return subject;
  }

  private command(value: CatalogueCommand): Promise<CatalogueReply> {
    return this.queries.call(Queries.catalogue, value);
  }
}
