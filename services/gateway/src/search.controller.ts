import { SearchBody } from '@adseed/contracts';
import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiJson, ApiTenantHeader, BODY, UPSTREAM } from './api-docs';
import * as dto from './api.dtos';
import { ReadOnlyRoute } from './audit.interceptor';
import { SearchService } from './search.service';
import { Tenant, TenantGuard } from './tenant.guard';
import { ZodPipe } from './zod.pipe';

@Controller('v1/search')
@UseGuards(TenantGuard)
@ApiTags('search')
@ApiTenantHeader()
export class SearchController {
  constructor(private readonly searches: SearchService) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({ summary: 'Top-K seeds for a text (CLIP text tower fused with captions)' })
  @ApiJson(200, dto.SearchResponse, 'Ranked hits with per-encoder scores.')
  @ApiErrors(BODY, UPSTREAM)
  // A search changes nothing: no audit entry (an fsynced object per search doubled a cached search's time).
  @ReadOnlyRoute()
  search(@Tenant() tenant: string, @Body(new ZodPipe(SearchBody)) body: dto.SearchBody) {
    return this.searches.search(tenant, body);
  }
}
