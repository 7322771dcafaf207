import { SeedGapsQuery } from '@adseed/contracts';
import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import type { z } from 'zod';
import { CatalogueService } from './catalogue.service';
import { Tenant, TenantGuard } from './tenant.guard';
import { ZodPipe } from './zod.pipe';

/** What the library is missing: segments and subjects nothing cleared the relevance floor for. */
@Controller('v1/reports')
@UseGuards(TenantGuard)
export class ReportsController {
  constructor(private readonly catalogue: CatalogueService) {}

  @Get('seed-gaps')
  seedGaps(@Tenant() tenant: string, @Query(new ZodPipe(SeedGapsQuery, 'query')) query: z.infer<typeof SeedGapsQuery>) {
    return this.catalogue.seedGaps(tenant, query);
  }
}
