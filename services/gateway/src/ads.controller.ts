import { assetContentUrl, CreateAdBody } from '@adseed/contracts';
import { Body, Controller, HttpCode, Post, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { CreateAdUseCase } from './create-ad.use-case';
import { Tenant, TenantGuard } from './tenant.guard';
import { ModerateText } from './text-guardrail.interceptor';
import { ZodPipe } from './zod.pipe';

@Controller('v1/ads')
@UseGuards(TenantGuard)
export class AdsController {
  constructor(private readonly createAd: CreateAdUseCase) {}

  /** Without a conversation: 201 with the ad, or 202 with where it will be (also the `Location`) while it is still being made. */
  @Post()
  @HttpCode(201)
  @ModerateText('segment', 'headline', 'callToAction')
  async create(@Tenant() tenant: string, @Body(new ZodPipe(CreateAdBody)) body: CreateAdBody, @Res({ passthrough: true }) res: Response) {
    const created = await this.createAd.execute(tenant, body);
    if (!created.generating) return { ad: created.ad };
    res.status(202);
    res.setHeader('Location', assetContentUrl(created.ad.path));
    return { status: 'generating' as const, ad: created.ad };
  }
}
