import { SeedGapsQuery } from '@adseed/contracts';
import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiJson, ApiTenantHeader } from './api-docs';
import * as dto from './api.dtos';
import { CatalogueService } from './catalogue.service';
import { Tenant, TenantGuard } from './tenant.guard';
import { ZodPipe } from './zod.pipe';

/** What the library is missing: segments and subjects nothing cleared the relevance floor for. */
@Controller('v1/reports')
@UseGuards(TenantGuard)
@ApiTags('reports')
@ApiTenantHeader()
export class ReportsController {
  constructor(private readonly catalogue: CatalogueService) {}

  @Get('seed-gaps')
  @ApiOperation({ summary: 'Photos your library is missing: segments and subjects nothing cleared the relevance floor for' })
  @ApiJson(200, dto.SeedGapsResponse, 'Gaps, most frequent first.')
  @ApiErrors()
  seedGaps(@Tenant() tenant: string, @Query(new ZodPipe(SeedGapsQuery, 'query')) query: dto.SeedGapsQuery) {
    return this.catalogue.seedGaps(tenant, query);
  }
}
