import { AssetContentQuery, ListAssetsQuery, PatchAssetBody, UploadAssetFields } from '@adseed/contracts';
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, Res, UploadedFile, UseGuards, UseInterceptors } from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import type { Response } from 'express';
import type { z } from 'zod';
import { AssetAccessService } from './asset-access.service';
import { AssetsService } from './assets.service';
import { Audited } from './audit.interceptor';
import { ApiError } from './http-errors';
import { CurrentPrincipal, type Principal } from './roles';
import { Tenant, TenantGuard } from './tenant.guard';
import { ModerateText } from './text-guardrail.interceptor';
import { ZodPipe } from './zod.pipe';

const parseAssetId = (id: string): string => {
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(id)) throw new ApiError(404, 'not_found', `no asset ${id.slice(0, 64)}`, [{ field: 'id', reason: 'unknown asset' }]);
  return id;
};

/** The tenant's image library: uploads and edits (AssetsService), reads as the caller may see them (AssetAccessService). */
@Controller('v1/assets')
@UseGuards(TenantGuard)
export class AssetsController {
  constructor(
    private readonly assets: AssetsService,
    private readonly access: AssetAccessService,
  ) {}

  @Post()
  @HttpCode(201)
  @Audited('asset.uploaded')
  @ModerateText('caption', 'tags')
  @UseInterceptors(FileInterceptor('file'))
  upload(
    @Tenant() tenant: string,
    @UploadedFile() file: { buffer: Buffer; originalname: string } | undefined,
    @Body(new ZodPipe(UploadAssetFields)) fields: UploadAssetFields,
  ) {
    return this.assets.upload(tenant, file, fields);
  }

  @Get()
  list(@CurrentPrincipal() principal: Principal, @Query(new ZodPipe(ListAssetsQuery, 'query')) query: ListAssetsQuery) {
    return this.access.list(principal, query);
  }

  @Get('url')
  url(@CurrentPrincipal() principal: Principal, @Query(new ZodPipe(AssetContentQuery, 'query')) query: z.infer<typeof AssetContentQuery>) {
    return this.access.url(principal, query.path);
  }

  @Delete(':id')
  @Audited('asset.deleted')
  delete(@Tenant() tenant: string, @Param('id') id: string) {
    return this.assets.delete(tenant, parseAssetId(id));
  }

  @Patch(':id')
  @HttpCode(202)
  @ModerateText('caption', 'tags')
  async update(@Tenant() tenant: string, @Param('id') id: string, @Body(new ZodPipe(PatchAssetBody)) body: PatchAssetBody) {
    return { asset: await this.assets.update(tenant, parseAssetId(id), body), ingest: 'queued' as const };
  }

  @Get('content')
  async content(
    @CurrentPrincipal() principal: Principal,
    @Query(new ZodPipe(AssetContentQuery, 'query')) query: z.infer<typeof AssetContentQuery>,
    @Res() res: Response,
  ) {
    const { body, info } = await this.access.content(principal, query.path);
    res.setHeader('Content-Type', info.contentType);
    res.setHeader('Cache-Control', 'private, max-age=300');
    res.setHeader('ETag', `"${info.etag}"`);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.send(body);
  }
}
