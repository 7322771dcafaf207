import { CreateConversationBody, SelectSeedBody, SendMessageBody, type Conversation } from '@adseed/contracts';
import { Body, Controller, Get, Headers, HttpCode, Param, Post, Res, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiErrors, ApiJson, ApiStateEvents, ApiTenantHeader, BODY, EVENTS_UNAVAILABLE, MODERATION } from './api-docs';
import * as dto from './api.dtos';
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

const NO_SUCH_CONVERSATION = { 404: 'No such conversation.' };

@Controller('v1/conversations')
@UseGuards(TenantGuard)
@ApiTags('conversations')
@ApiTenantHeader()
export class ConversationsController {
  constructor(private readonly conversations: ConversationsService) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Start a conversation for a segment; the agent proposes a subject' })
  @ApiJson(201, dto.Conversation, 'The new conversation.')
  @ApiErrors(BODY, { 404: '`brandPath` names no brand image of this tenant (a path outside the brands bucket included).' }, MODERATION)
  @ModerateText('segment', 'headline', 'callToAction')
  create(@Tenant() tenant: string, @Body(new ZodPipe(CreateConversationBody)) body: dto.CreateConversationBody): Promise<Conversation> {
    return this.conversations.start(tenant, body);
  }

  @Get(':id')
  @ApiOperation({ summary: "A conversation's state" })
  @ApiJson(200, dto.Conversation, 'The conversation.')
  @ApiErrors(NO_SUCH_CONVERSATION)
  get(@Tenant() tenant: string, @Param('id') id: string): Promise<Conversation> {
    return this.conversations.get(tenant, parseId(id));
  }

  @Post(':id/messages')
  @HttpCode(200)
  @ApiOperation({ summary: 'Reply to the agent: yes / not quite / different subject / show me a <subject>' })
  @ApiJson(200, dto.Conversation, 'The conversation after the agent handled the reply.')
  @ApiErrors(BODY, NO_SUCH_CONVERSATION, MODERATION)
  @ModerateText('text', 'headline', 'callToAction')
  reply(@Tenant() tenant: string, @Param('id') id: string, @Body(new ZodPipe(SendMessageBody)) body: dto.SendMessageBody): Promise<Conversation> {
    return this.conversations.reply(tenant, parseId(id), body);
  }

  @Post(':id/seed')
  @HttpCode(200)
  @ApiOperation({ summary: 'Show one of the seeds already retrieved for the current subject, by index' })
  @ApiJson(200, dto.Conversation, 'The conversation showing that seed.')
  @ApiErrors(BODY, NO_SUCH_CONVERSATION, {
    409: 'The conversation is not showing seeds (`not_showing_seeds`), or the current subject has no seed at this index (`seed_out_of_range`).',
  })
  selectSeed(@Tenant() tenant: string, @Param('id') id: string, @Body(new ZodPipe(SelectSeedBody)) body: dto.SelectSeedBody): Promise<Conversation> {
    return this.conversations.selectSeed(tenant, parseId(id), body.index);
  }

  /**
   * Server-sent events (see ConversationsService.stream). `@Res()`, not `@Sse()`: with the
   * gateway's global interceptors (audit, HTTP metrics) Nest commits an `@Sse()` route's 200 and
   * event-stream headers one macrotask after the handler starts, so an unknown conversation,
   * found only once the stored state is read, would answer 200 with `event: error` instead of 404.
   */
  @Get(':id/events')
  @ApiOperation({ summary: "Server-sent events: `event: state` with the conversation's JSON on every change" })
  @ApiStateEvents(
    dto.Conversation,
    "An event stream: `retry:` (the reconnection delay in ms) first, then one `state` event (`data`: the conversation's JSON, `id`: `<message count>-<updatedAt in epoch ms>`, growing with every change) now and on every change; comment lines keep the connection alive. " +
      'With `Last-Event-ID` the current state is sent only if it is newer than that id, so a client that reconnects (an EventSource does so by itself) catches up with what changed while it was away and gets no state twice.',
  )
  @ApiErrors(NO_SUCH_CONVERSATION, EVENTS_UNAVAILABLE)
  events(@Tenant() tenant: string, @Param('id') id: string, @Headers('last-event-id') lastEventId: string | undefined, @Res() res: Response): Promise<void> {
    return this.conversations.stream(res, tenant, parseId(id), lastEventId);
  }
}
