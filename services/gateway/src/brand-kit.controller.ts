import { PutBrandKitBody, UploadFontFields, UploadFontMultipart } from '@adseed/contracts';
import { Body, Controller, Get, HttpCode, Post, Put, UploadedFile, UseGuards, UseInterceptors } from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiJson, ApiMultipart, ApiTenantHeader, BODY } from './api-docs';
import * as dto from './api.dtos';
import { Audited } from './audit.interceptor';
import { BrandKitService } from './brand-kit.service';
import { CurrentPrincipal, Roles, type Principal } from './roles';
import { Tenant, TenantGuard } from './tenant.guard';
import { ZodPipe } from './zod.pipe';

/** The tenant's brand kit. Any role may read and write it (marketers make the ads it styles). */
@Controller('v1/brand-kit')
@UseGuards(TenantGuard)
@ApiTags('brand kit')
@ApiTenantHeader()
@Roles('marketer')
export class BrandKitController {
  constructor(private readonly kits: BrandKitService) {}

  @Get()
  @ApiOperation({ summary: "The tenant's current brand kit: colours, font and logo" })
  @ApiJson(200, dto.BrandKitResponse, 'The current version.')
  @ApiErrors({ 404: 'The tenant has no brand kit yet (`no_brand_kit`).' })
  get(@Tenant() tenant: string) {
    return this.kits.get(tenant);
  }

  @Put()
  @ApiOperation({ summary: 'Write a new version of the brand kit; ads made from now on use it (a job keeps the version it started with)' })
  @ApiJson(200, dto.BrandKitResponse, 'The new version.')
  @ApiErrors(BODY, { 404: '`fontPath` names no font uploaded by this tenant, or `logoPath` no brand image of this tenant.' })
  @Audited('brand-kit.updated')
  put(@CurrentPrincipal() principal: Principal, @Body(new ZodPipe(PutBrandKitBody)) body: dto.PutBrandKitBody) {
    return this.kits.put(principal, body);
  }

  @Post('font')
  @HttpCode(201)
  @ApiOperation({ summary: 'Upload a font file (TTF, OTF, WOFF or WOFF2) for the brand kit; it is parsed, not trusted by its name' })
  @ApiMultipart(UploadFontMultipart)
  @ApiJson(201, dto.UploadFontResponse, 'Stored; pass `font.path` as `fontPath` to `PUT /v1/brand-kit`.')
  @ApiErrors({
    413: 'The file is larger than allowed.',
    415: 'Not a font this generator can render (unreadable, a collection, or without the Latin letters and digits).',
  })
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
