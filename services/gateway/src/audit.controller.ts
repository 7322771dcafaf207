import { ListAuditQuery } from '@adseed/contracts';
import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { AuditLog } from './audit.log';
import { Roles } from './roles';
import { Tenant, TenantGuard } from './tenant.guard';
import { ZodPipe } from './zod.pipe';

/** The append-only audit log (admin). */
@Controller('v1/audit')
@UseGuards(TenantGuard)
export class AuditController {
  constructor(private readonly audit: AuditLog) {}

  @Get()
  @Roles('admin')
  list(@Tenant() tenant: string, @Query(new ZodPipe(ListAuditQuery, 'query')) query: ListAuditQuery) {
    return this.audit.list(tenant, query);
  }
}
