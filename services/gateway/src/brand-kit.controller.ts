import { PutBrandKitBody, UploadFontFields } from '@adseed/contracts';
import { Body, Controller, Get, HttpCode, Post, Put, UploadedFile, UseGuards, UseInterceptors } from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import { Audited } from './audit.interceptor';
import { BrandKitService } from './brand-kit.service';
import { CurrentPrincipal, Roles, type Principal } from './roles';
import { Tenant, TenantGuard } from './tenant.guard';
import { ZodPipe } from './zod.pipe';

/** The tenant's brand kit. Any role may read and write it (marketers make the ads it styles). */
@Controller('v1/brand-kit')
@UseGuards(TenantGuard)
@Roles('marketer')
export class BrandKitController {
  constructor(private readonly kits: BrandKitService) {}

  @Get()
  get(@Tenant() tenant: string) {
    return this.kits.get(tenant);
  }

  @Put()
  @Audited('brand-kit.updated')
  put(@CurrentPrincipal() principal: Principal, @Body(new ZodPipe(PutBrandKitBody)) body: PutBrandKitBody) {
    return this.kits.put(principal, body);
  }

  @Post('font')
  @HttpCode(201)
  @Audited('brand-kit.font-uploaded')
  @UseInterceptors(FileInterceptor('file'))
  uploadFont(
    @Tenant() tenant: string,
    @UploadedFile() file: { buffer: Buffer } | undefined,
    @Body(new ZodPipe(UploadFontFields)) _fields: Record<string, never>,
  ) {
    return this.kits.uploadFont(tenant, file);
  }
}
