import { AssetContentQuery, ListAssetsQuery, PatchAssetBody, UploadAssetFields, UploadAssetMultipart } from '@adseed/contracts';
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, Res, UploadedFile, UseGuards, UseInterceptors } from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import { ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiBinary, ApiErrors, ApiJson, ApiMultipart, ApiTenantHeader, BODY, MODERATION } from './api-docs';
import * as dto from './api.dtos';
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
const NO_SUCH_OBJECT = { 404: 'No such object for this tenant.' };
const NO_SUCH_ASSET = { 404: 'No such (indexed) asset for this tenant.' };
const AssetIdParam = () => ApiParam({ name: 'id', description: "the asset's id (from upload, list or search)" });

@Controller('v1/assets')
@UseGuards(TenantGuard)
@ApiTags('assets')
@ApiTenantHeader()
export class AssetsController {
  constructor(
    private readonly assets: AssetsService,
    private readonly access: AssetAccessService,
  ) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Upload a seed photo or brand image; it is stored and queued for indexing' })
  @ApiMultipart(UploadAssetMultipart)
  @ApiJson(
    201,
    dto.UploadAssetResponse,
    'Stored; an ingest event was published (`ingest: queued`), or, with the image guardrail on and the image flagged, kept in quarantine and not indexed (`ingest: quarantined`, `asset.moderation` says why).',
  )
  @ApiErrors(MODERATION, {
    413: 'The file or image is larger than allowed.',
    415: 'The content is not a supported image (sniffed, not by extension).',
  })
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
  @ApiOperation({ summary: "List the tenant's assets of a kind (`status=quarantined`: the uploads the image guardrail flagged)" })
  @ApiJson(200, dto.ListAssetsResponse, 'A page of assets.')
  @ApiErrors()
  list(@CurrentPrincipal() principal: Principal, @Query(new ZodPipe(ListAssetsQuery, 'query')) query: dto.ListAssetsQuery) {
    return this.access.list(principal, query);
  }

  @Get('url')
  @ApiOperation({ summary: 'A short-lived URL a browser can GET directly (presigned on MinIO; the gateway content URL otherwise)' })
  @ApiJson(200, dto.AssetUrlResponse, 'The URL and when it expires.')
  @ApiErrors(NO_SUCH_OBJECT)
  url(@CurrentPrincipal() principal: Principal, @Query(new ZodPipe(AssetContentQuery, 'query')) query: dto.AssetContentQuery) {
    return this.access.url(principal, query.path);
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Delete an asset: the object now; its vectors and subject membership from the event that follows' })
  @AssetIdParam()
  @ApiJson(200, dto.DeleteAssetResponse, 'Deleted.')
  @ApiErrors(NO_SUCH_ASSET)
  @Audited('asset.deleted')
  delete(@Tenant() tenant: string, @Param('id') id: string) {
    return this.assets.delete(tenant, parseAssetId(id));
  }

  @Patch(':id')
  @HttpCode(202)
  @ApiOperation({ summary: "Change an asset's caption, tags or rights; it is re-embedded and re-indexed" })
  @AssetIdParam()
  @ApiJson(202, dto.AssetChangeResponse, 'Stored; an ingest event was published.')
  @ApiErrors(BODY, NO_SUCH_ASSET, MODERATION)
  @ModerateText('caption', 'tags')
  async update(@Tenant() tenant: string, @Param('id') id: string, @Body(new ZodPipe(PatchAssetBody)) body: dto.PatchAssetBody) {
    return { asset: await this.assets.update(tenant, parseAssetId(id), body), ingest: 'queued' as const };
  }

  @Get('content')
  @ApiOperation({ summary: 'The bytes of an asset or ad, by storage path' })
  @ApiBinary(200, 'image/*', 'The image.')
  @ApiErrors(NO_SUCH_OBJECT)
  async content(@CurrentPrincipal() principal: Principal, @Query(new ZodPipe(AssetContentQuery, 'query')) query: dto.AssetContentQuery, @Res() res: Response) {
    const { body, info } = await this.access.content(principal, query.path);
    res.setHeader('Content-Type', info.contentType);
    res.setHeader('Cache-Control', 'private, max-age=300');
    res.setHeader('ETag', `"${info.etag}"`);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.send(body);
  }
}
