import { CreateSubjectBody, ListSubjectsQuery, PatchSubjectBody, type Subject } from '@adseed/contracts';
import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query, UseGuards } from '@nestjs/common';
import type { z } from 'zod';
import { CatalogueService } from './catalogue.service';
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
  constructor(private readonly catalogue: CatalogueService) {}

  @Get()
  list(
    @Tenant() tenant: string,
    @Query(new ZodPipe(ListSubjectsQuery, 'query')) query: z.infer<typeof ListSubjectsQuery>,
  ): Promise<{ items: Subject[]; nextCursor?: string }> {
    return this.catalogue.list(tenant, query);
  }

  @Post()
  @HttpCode(201)
  @ModerateText('name', 'description', 'audience')
  async add(@Tenant() tenant: string, @Body(new ZodPipe(CreateSubjectBody)) body: CreateSubjectBody): Promise<{ subject: Subject }> {
    return { subject: await this.catalogue.add(tenant, body) };
  }

  @Patch(':id')
  @ModerateText('description', 'audience')
  async patch(@Tenant() tenant: string, @Param('id') id: string, @Body(new ZodPipe(PatchSubjectBody)) body: PatchSubjectBody): Promise<{ subject: Subject }> {
    return { subject: await this.catalogue.patch(tenant, parseSubjectId(id), body) };
  }
}
