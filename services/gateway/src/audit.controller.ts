import { ListAuditQuery } from '@adseed/contracts';
import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiJson, ApiTenantHeader, FORBIDDEN } from './api-docs';
import * as dto from './api.dtos';
import { AuditLog } from './audit.log';
import { Roles } from './roles';
import { Tenant, TenantGuard } from './tenant.guard';
import { ZodPipe } from './zod.pipe';

/** The append-only audit log (admin). */
@Controller('v1/audit')
@UseGuards(TenantGuard)
@ApiTags('audit')
@ApiTenantHeader()
export class AuditController {
  constructor(private readonly audit: AuditLog) {}

  @Get()
  @ApiOperation({ summary: 'The append-only audit log (admin): decisions, uploads, deletions, key use; oldest first' })
  @ApiJson(200, dto.ListAuditResponse, 'A page of entries.')
  @ApiErrors(FORBIDDEN)
  @Roles('admin')
  list(@Tenant() tenant: string, @Query(new ZodPipe(ListAuditQuery, 'query')) query: dto.ListAuditQuery) {
    return this.audit.list(tenant, query);
  }
}
