import { CreateConversationBody, SelectSeedBody, SendMessageBody, type Conversation } from '@adseed/contracts';
import { Body, Controller, Get, Headers, HttpCode, Param, Post, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { z } from 'zod';
import { ConversationsService } from './conversations.service';
import { ApiError } from './http-errors';
import { Tenant, TenantGuard } from './tenant.guard';
import { ModerateText } from './text-guardrail.interceptor';
import { ZodPipe } from './zod.pipe';

const ConversationId = z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'must be a conversation id');
const parseId = (id: string): string => {
  const result = ConversationId.safeParse(id);
  if (!result.success) throw new ApiError(404, 'not_found', `no conversation ${id.slice(0, 64)}`, [{ field: 'id', reason: 'unknown conversation' }]);
  return result.data;
};

@Controller('v1/conversations')
@UseGuards(TenantGuard)
export class ConversationsController {
  constructor(private readonly conversations: ConversationsService) {}

  @Post()
  @HttpCode(201)
  @ModerateText('segment', 'headline', 'callToAction')
  create(@Tenant() tenant: string, @Body(new ZodPipe(CreateConversationBody)) body: z.infer<typeof CreateConversationBody>): Promise<Conversation> {
    return this.conversations.start(tenant, body);
  }

  @Get(':id')
  get(@Tenant() tenant: string, @Param('id') id: string): Promise<Conversation> {
    return this.conversations.get(tenant, parseId(id));
  }

  @Post(':id/messages')
  @HttpCode(200)
  @ModerateText('text', 'headline', 'callToAction')
  reply(@Tenant() tenant: string, @Param('id') id: string, @Body(new ZodPipe(SendMessageBody)) body: z.infer<typeof SendMessageBody>): Promise<Conversation> {
    return this.conversations.reply(tenant, parseId(id), body);
  }

  @Post(':id/seed')
  @HttpCode(200)
  selectSeed(
    @Tenant() tenant: string,
    @Param('id') id: string,
    @Body(new ZodPipe(SelectSeedBody)) body: z.infer<typeof SelectSeedBody>,
  ): Promise<Conversation> {
    return this.conversations.selectSeed(tenant, parseId(id), body.index);
  }

  /**
   * Server-sent events (see ConversationsService.stream). `@Res()`, not `@Sse()`: with the
   * gateway's global interceptors (audit, HTTP metrics) Nest commits an `@Sse()` route's 200 and
   * event-stream headers one macrotask after the handler starts, so an unknown conversation,
   * found only once the stored state is read, would answer 200 with `event: error` instead of 404.
   */
  @Get(':id/events')
  events(@Tenant() tenant: string, @Param('id') id: string, @Headers('last-event-id') lastEventId: string | undefined, @Res() res: Response): Promise<void> {
    return this.conversations.stream(res, tenant, parseId(id), lastEventId);
  }
}
