import {
  CreateSubjectBody,
  ListSubjectsQuery,
  PatchSubjectBody,
  SeedGapsQuery,
  Queries,
  type CatalogueCommand,
  type CatalogueReply,
  type Subject,
} from '@adseed/contracts';
import { RUNTIME, type ServiceRuntime } from '@adseed/platform';
import { Body, Controller, Get, HttpCode, Inject, Param, Patch, Post, Query, UseGuards } from '@nestjs/common';
import type { z } from 'zod';
import { ApiError } from './http-errors';
import { Tenant, TenantGuard } from './tenant.guard';
import { ModerateText } from './text-guardrail.interceptor';
import { ZodPipe } from './zod.pipe';

const parseSubjectId = (id: string): string => {
  if (!/^[a-f0-9]{16}$/.test(id)) throw new ApiError(404, 'not_found', `no subject ${id.slice(0, 64)}`, [{ field: 'id', reason: 'unknown subject' }]);
  return id;
};

/** The agent's subject catalogue, one request each. */
@Controller('v1/subjects')
@UseGuards(TenantGuard)
export class SubjectsController {
  constructor(@Inject(RUNTIME) private readonly runtime: ServiceRuntime) {}

  @Get()
  async list(@Tenant() tenant: string, @Query(new ZodPipe(ListSubjectsQuery, 'query')) query: z.infer<typeof ListSubjectsQuery>): Promise<{ items: Subject[]; nextCursor?: string }> {
    const reply = await this.command({ type: 'list', tenant, includeDisabled: query.includeDisabled, limit: query.limit, ...(query.cursor ? { cursor: query.cursor } : {}) });
    return { items: reply.subjects ?? [], ...(reply.nextCursor ? { nextCursor: reply.nextCursor } : {}) };
  }

  @Post()
  @HttpCode(201)
  @ModerateText('name', 'description', 'audience')
  async add(@Tenant() tenant: string, @Body(new ZodPipe(CreateSubjectBody)) body: CreateSubjectBody): Promise<{ subject: Subject }> {
    return { subject: this.one(await this.command({ type: 'add', tenant, subject: body })) };
  }

  @Patch(':id')
  @ModerateText('description', 'audience')
  async patch(@Tenant() tenant: string, @Param('id') id: string, @Body(new ZodPipe(PatchSubjectBody)) body: PatchSubjectBody): Promise<{ subject: Subject }> {
    return { subject: this.one(await this.command({ type: 'patch', tenant, id: parseSubjectId(id), patch: body })) };
  }

  private one(reply: CatalogueReply): Subject {
    const [subject] = reply.subjects ?? [];
    if (!subject) throw new Error('the agent answered without the subject');
    return subject;
  }

  private command(value: CatalogueCommand): Promise<CatalogueReply> {
    return this.runtime.queries.call(Queries.catalogue, value);
  }
}

/** What the library is missing: segments and subjects nothing cleared the relevance floor for. */
@Controller('v1/reports')
@UseGuards(TenantGuard)
export class ReportsController {
  constructor(@Inject(RUNTIME) private readonly runtime: ServiceRuntime) {}

  @Get('seed-gaps')
  async seedGaps(@Tenant() tenant: string, @Query(new ZodPipe(SeedGapsQuery, 'query')) query: z.infer<typeof SeedGapsQuery>) {
    const reply = await this.runtime.queries.call(Queries.catalogue, { type: 'seed-gaps', tenant, limit: query.limit, ...(query.cursor ? { cursor: query.cursor } : {}) });
    return { items: reply.gaps ?? [], ...(reply.nextCursor ? { nextCursor: reply.nextCursor } : {}) };
  }
}
