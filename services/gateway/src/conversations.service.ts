import { Queries, type Conversation, type ConversationCommand, type CreateConversationBody, type SendMessageBody } from '@adseed/contracts';
import { QUERY_CLIENT, SERVICE_CONFIG, type QueryClient } from '@adseed/platform';
import { Inject, Injectable } from '@nestjs/common';
import type { Response } from 'express';
import type { z } from 'zod';
import { AssetsService } from './assets.service';
import { ConversationEventsHub } from './conversation-events.hub';
import { conversationPosition, EventStreams, StateReplay, type EventStream } from './event-stream';
import type { GatewayEnv } from './gateway.env';
import { ReviewService } from './review.service';

/**
 * Conversations with the agent (its conversation query), each state marked with its ad's review;
 * a reply that requests the ad waits for it, bounded; and the server-sent event stream of a
 * conversation's states.
 */
@Injectable()
export class ConversationsService {
  constructor(
    @Inject(QUERY_CLIENT) private readonly queries: QueryClient,
    @Inject(SERVICE_CONFIG) private readonly env: GatewayEnv,
    private readonly hub: ConversationEventsHub,
    private readonly streams: EventStreams,
    private readonly assets: AssetsService,
    private readonly reviews: ReviewService,
  ) {}

  async start(tenant: string, body: z.infer<typeof CreateConversationBody>): Promise<Conversation> {
    if (body.brandPath) await this.assets.assertBrandImage(tenant, body.brandPath);
    return this.command({
      type: 'start',
      tenant,
      segment: body.segment,
      ...(body.brandPath ? { brandPath: body.brandPath } : {}),
      ...(body.headline ? { headline: body.headline } : {}),
      ...(body.callToAction ? { callToAction: body.callToAction } : {}),
    });
  }

  get(tenant: string, conversationId: string): Promise<Conversation> {
    return this.command({ type: 'get', tenant, conversationId });
  }

  reply(tenant: string, conversationId: string, body: z.infer<typeof SendMessageBody>): Promise<Conversation> {
    return this.command({
      type: 'reply',
      tenant,
      conversationId,
      text: body.text,
      ...(body.headline !== undefined ? { headline: body.headline } : {}),
      ...(body.callToAction !== undefined ? { callToAction: body.callToAction } : {}),
    });
  }

  selectSeed(tenant: string, conversationId: string, index: number): Promise<Conversation> {
    return this.command({ type: 'select-seed', tenant, conversationId, index });
  }

  /**
   * Server-sent events on `res`: the stored state first, then every change, until the client
   * leaves. With `Last-Event-ID` (an EventSource reconnecting) the stored state is sent only if it
   * is newer than that id: the client catches up on what changed while it was away and gets
   * nothing twice. An unknown conversation fails before the stream opens (404).
   */
  async stream(res: Response, tenant: string, conversationId: string, lastEventId: string | undefined): Promise<void> {
    const replay = new StateReplay(conversationPosition, lastEventId);
    // Set once the headers are out; states offered before wait for it.
    const out: { stream?: EventStream } = {};
    // Each state is marked with its ad's review, in arrival order: each waits for the one before.
    const deliver = async (c: Conversation, marked = false): Promise<void> => {
      if (!out.stream || replay.has(c)) return;
      const state = marked ? c : await this.marked(c);
      const eventId = replay.offer(state);
      if (eventId) out.stream.send(eventId, state);
    };
    // Listen before reading, so a change between the read and the subscription is not missed;
    // changes queue behind the stored state, and those it already holds are dropped.
    let open: () => void = () => undefined;
    let sending = new Promise<void>((resolve) => (open = resolve));
    const stop = this.hub.listen(conversationId, (c) => {
      if (c.tenant === tenant) sending = sending.then(() => deliver(c)).catch(() => undefined);
    });
    let initial: Conversation;
    try {
      this.streams.accepting();
      await this.hub.listening();
      initial = await this.command({ type: 'get', tenant, conversationId });
    } catch (error) {
      stop();
      throw error;
    }
    out.stream = this.streams.start(res, stop);
    await deliver(initial, true).catch(() => undefined);
    open();
  }

  private async command(value: ConversationCommand): Promise<Conversation> {
    if (value.type !== 'reply') return this.marked(await this.queries.call(Queries.conversation, value));
    // A "yes" requests the ad (an event) and answers `generating`; the ad's outcome arrives as a
    // conversation update. Wait for it, bounded: past ADSEED_AD_WAIT_MS the answer stays
    // `generating` and the client gets the rest over /events (or GET).
    const updates: Conversation[] = [];
    let wake: (() => void) | undefined;
    const stop = this.hub.listen(value.conversationId, (c) => {
      if (c.tenant !== value.tenant) return;
      updates.push(c);
      wake?.();
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      const reply = await this.queries.call(Queries.conversation, value);
      if (reply.status !== 'generating') return this.marked(reply);
      const settled = () => updates.find((c) => c.status !== 'generating' && c.updatedAt >= reply.updatedAt);
      const expired = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.env.ADSEED_AD_WAIT_MS)));
      let done = settled();
      while (!done) {
        const woken = new Promise<'update'>((resolve) => (wake = () => resolve('update')));
        if ((await Promise.race([woken, expired.then(() => 'expired' as const)])) === 'expired') break;
        done = settled();
      }
      return this.marked(done ?? reply);
    } finally {
      clearTimeout(timer);
      stop();
    }
  }

  /** The conversation with its ad's review state (the ad is registered for review when first seen). */
  private async marked(conversation: Conversation): Promise<Conversation> {
    if (!conversation.ad) return conversation;
    const review = await this.reviews.mark(conversation.tenant, conversation.ad.path, 'conversation', { conversationId: conversation.id });
    return review ? { ...conversation, ad: { ...conversation.ad, review } } : conversation;
  }
}
