import { assetContentUrl, CreateAdBody } from '@adseed/contracts';
import { Body, Controller, HttpCode, Post, Res, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiErrors, ApiJson, ApiTenantHeader, BODY, MODERATION } from './api-docs';
import * as dto from './api.dtos';
import { CreateAdUseCase } from './create-ad.use-case';
import { Tenant, TenantGuard } from './tenant.guard';
import { ModerateText } from './text-guardrail.interceptor';
import { ZodPipe } from './zod.pipe';

@Controller('v1/ads')
@UseGuards(TenantGuard)
@ApiTags('ads')
@ApiTenantHeader()
export class AdsController {
  constructor(private readonly createAd: CreateAdUseCase) {}

  /** Without a conversation: 201 with the ad, or 202 with where it will be (also the `Location`) while it is still being made. */
  @Post()
  @HttpCode(201)
  @ApiOperation({
    summary: 'Generate an ad directly: from a segment, or from a seed (+ brand) image',
    description:
      'Generation is an event (`adseed.generation.single-ad-requested.v1`): the request waits for its outcome at most ' +
      '`ADSEED_AD_WAIT_MS` (60 s). Past that it answers 202 with the path the ad will have; `Location` is its content URL, ' +
      '404 until the ad is stored.',
  })
  @ApiJson(201, dto.CreateAdResponse, 'The ad was generated and stored.')
  @ApiJson(202, dto.CreateAdPendingResponse, 'The ad is still being made; it will be at `ad.path`.', {
    Location: { description: 'The content URL of the ad (`/v1/assets/content?path=…`), 404 until it is stored.', schema: { type: 'string' } },
  })
  @ApiErrors(BODY, { 404: 'The seed or brand image does not exist (a `brandPath` outside the brands bucket names no brand image).' }, MODERATION)
  @ModerateText('segment', 'headline', 'callToAction')
  async create(@Tenant() tenant: string, @Body(new ZodPipe(CreateAdBody)) body: dto.CreateAdBody, @Res({ passthrough: true }) res: Response) {
    const created = await this.createAd.execute(tenant, body);
    if (!created.generating) return { ad: created.ad };
    res.status(202);
    res.setHeader('Location', assetContentUrl(created.ad.path));
    return { status: 'generating' as const, ad: created.ad };
  }
}
