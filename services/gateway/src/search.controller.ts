import { SearchBody } from '@adseed/contracts';
import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { ReadOnlyRoute } from './audit.interceptor';
import { SearchService } from './search.service';
import { Tenant, TenantGuard } from './tenant.guard';
import { ZodPipe } from './zod.pipe';

@Controller('v1/search')
@UseGuards(TenantGuard)
export class SearchController {
  constructor(private readonly searches: SearchService) {}

  @Post()
  @HttpCode(200)
  // A search changes nothing: no audit entry (an fsynced object per search doubled a cached search's time).
  @ReadOnlyRoute()
  search(@Tenant() tenant: string, @Body(new ZodPipe(SearchBody)) body: SearchBody) {
    return this.searches.search(tenant, body);
  }
}
