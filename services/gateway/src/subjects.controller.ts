import { CreateSubjectBody, ListSubjectsQuery, PatchSubjectBody, type Subject } from '@adseed/contracts';
import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiJson, ApiTenantHeader, BODY, MODERATION } from './api-docs';
import * as dto from './api.dtos';
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
@ApiTags('subjects')
@ApiTenantHeader()
export class SubjectsController {
  constructor(private readonly catalogue: CatalogueService) {}

  @Get()
  @ApiOperation({ summary: "The tenant's subjects: from its captions and tags (near duplicates merged), zero-shot labels, or added by name" })
  @ApiJson(200, dto.ListSubjectsResponse, 'Subjects, most seeds first.')
  @ApiErrors()
  list(
    @Tenant() tenant: string,
    @Query(new ZodPipe(ListSubjectsQuery, 'query')) query: dto.ListSubjectsQuery,
  ): Promise<{ items: Subject[]; nextCursor?: string }> {
    return this.catalogue.list(tenant, query);
  }

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Add a subject by name: accepted only if retrieval finds seeds above the relevance floor' })
  @ApiJson(201, dto.SubjectResponse, 'The subject.')
  @ApiErrors(BODY, MODERATION, {
    422: '`no_matching_seeds`: nothing in the library clears the floor for this name (recorded as a seed gap); or `moderation_rejected`: the content policy rejected a field (`issues` name the field and category).',
  })
  @ModerateText('name', 'description', 'audience')
  async add(@Tenant() tenant: string, @Body(new ZodPipe(CreateSubjectBody)) body: dto.CreateSubjectBody): Promise<{ subject: Subject }> {
    return { subject: await this.catalogue.add(tenant, body) };
  }

  @Patch(':id')
  @ApiOperation({ summary: "Edit a subject's description (the agent's reason), audience, or disable it" })
  @ApiJson(200, dto.SubjectResponse, 'The subject.')
  @ApiErrors(BODY, { 404: 'No such subject.' }, MODERATION)
  @ModerateText('description', 'audience')
  async patch(
    @Tenant() tenant: string,
    @Param('id') id: string,
    @Body(new ZodPipe(PatchSubjectBody)) body: dto.PatchSubjectBody,
  ): Promise<{ subject: Subject }> {
    return { subject: await this.catalogue.patch(tenant, parseSubjectId(id), body) };
  }
}
