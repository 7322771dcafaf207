import {
  AssetContentQuery,
  assetContentUrl,
  CreateAdBody,
  CreateConversationBody,
  ListAssetsQuery,
  MAX_SUBJECT_CHARS,
  PatchAssetBody,
  SearchBody,
  SelectSeedBody,
  SendMessageBody,
  Queries,
  UploadAssetFields,
  type Conversation,
  type ConversationCommand,
} from '@adseed/contracts';
import { RUNTIME, type ServiceRuntime } from '@adseed/platform';
import { Body, Controller, Delete, Get, Headers, HttpCode, Inject, Param, Patch, Post, Query, Res, UploadedFile, UseGuards, UseInterceptors } from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import type { Response } from 'express';
import { z } from 'zod';
import { AssetsService } from './assets.service';
import { ConversationEventsHub } from './conversation-events.hub';
import { conversationPosition, EventStreams, StateReplay, type EventStream } from './event-stream';
import { ApiError } from './http-errors';
import { Audited, ReadOnlyRoute } from './audit.interceptor';
import { ReviewService } from './review.service';
import { CurrentPrincipal, hasRole, type Principal } from './roles';
import { Tenant, TenantGuard } from './tenant.guard';
import { ModerateText } from './text-guardrail.interceptor';
import { ZodPipe } from './zod.pipe';
import { GATEWAY_ENV, type GatewayEnv } from './gateway.env';
import { SingleAds } from './single-ads';
import { ServiceError } from '@adseed/messaging';

/** Controllers only parse, validate and delegate: one call each. */

const ConversationId = z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'must be a conversation id');
const parseId = (id: string): string => {
  const result = ConversationId.safeParse(id);
  if (!result.success) throw new ApiError(404, 'not_found', `no conversation ${id.slice(0, 64)}`, [{ field: 'id', reason: 'unknown conversation' }]);
  return result.data;
};

const parseAssetId = (id: string): string => {
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(id)) throw new ApiError(404, 'not_found', `no asset ${id.slice(0, 64)}`, [{ field: 'id', reason: 'unknown asset' }]);
  return id;
};

@Controller('v1/assets')
@UseGuards(TenantGuard)
export class AssetsController {
  constructor(
    private readonly assets: AssetsService,
    private readonly reviews: ReviewService,
  ) {}

  @Post()
  @HttpCode(201)
  @Audited('asset.uploaded')
  @ModerateText('caption', 'tags')
  @UseInterceptors(FileInterceptor('file'))
  async upload(@Tenant() tenant: string, @UploadedFile() file: { buffer: Buffer; originalname: string } | undefined, @Body(new ZodPipe(UploadAssetFields)) fields: UploadAssetFields) {
    return this.assets.upload(tenant, file, fields);
  }

  @Get()
  async list(@CurrentPrincipal() principal: Principal, @Query(new ZodPipe(ListAssetsQuery, 'query')) query: ListAssetsQuery) {
    if (query.status === 'quarantined' && !hasRole(principal, 'admin')) {
      throw new ApiError(403, 'forbidden', 'the quarantine is listed for admins only', [{ field: 'query.status', reason: 'role admin required' }]);
    }
    return this.reviews.withoutFlaggedAds(principal, await this.assets.list(principal.tenant, query));
  }

  @Get('url')
  async url(@CurrentPrincipal() principal: Principal, @Query(new ZodPipe(AssetContentQuery, 'query')) query: z.infer<typeof AssetContentQuery>) {
    await this.reviews.assertVisible(principal, query.path);
    return this.assets.url(principal.tenant, query.path);
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
  async content(@CurrentPrincipal() principal: Principal, @Query(new ZodPipe(AssetContentQuery, 'query')) query: z.infer<typeof AssetContentQuery>, @Res() res: Response) {
    await this.reviews.assertVisible(principal, query.path);
    const { body, info } = await this.assets.content(principal.tenant, query.path);
    res.setHeader('Content-Type', info.contentType);
    res.setHeader('Cache-Control', 'private, max-age=300');
    res.setHeader('ETag', `"${info.etag}"`);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.send(body);
  }
}

@Controller('v1/search')
@UseGuards(TenantGuard)
export class SearchController {
  constructor(@Inject(RUNTIME) private readonly runtime: ServiceRuntime) {}

  @Post()
  @HttpCode(200)
  // A search changes nothing: no audit entry (an fsynced object per search doubled a cached search's time).
  @ReadOnlyRoute()
  async search(@Tenant() tenant: string, @Body(new ZodPipe(SearchBody)) body: SearchBody) {
    const reply = await this.runtime.queries.call(Queries.search, {
      tenant,
      text: body.text,
      k: body.k,
      kind: body.kind,
      encoders: body.encoders ?? ['clip', 'caption'],
      ...(body.tags ? { tagsAll: body.tags } : {}),
      ...(body.minScore !== undefined ? { minScore: body.minScore } : {}),
      ...(body.channel ? { channel: body.channel } : {}),
    });
    return { ...reply, hits: reply.hits.map((h) => ({ ...h, url: assetContentUrl(h.path) })) };
  }
}

@Controller('v1/conversations')
@UseGuards(TenantGuard)
export class ConversationsController {
  constructor(
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(GATEWAY_ENV) private readonly env: GatewayEnv,
    private readonly hub: ConversationEventsHub,
    private readonly streams: EventStreams,
    private readonly assets: AssetsService,
    private readonly reviews: ReviewService,
  ) {}

  @Post()
  @HttpCode(201)
  @ModerateText('segment', 'headline', 'callToAction')
  async create(@Tenant() tenant: string, @Body(new ZodPipe(CreateConversationBody)) body: z.infer<typeof CreateConversationBody>): Promise<Conversation> {
    if (body.brandPath) await this.assets.assertBrandImage(tenant, body.brandPath);
    return this.command(
      {
        type: 'start',
        tenant,
        segment: body.segment,
        ...(body.brandPath ? { brandPath: body.brandPath } : {}),
        ...(body.headline ? { headline: body.headline } : {}),
        ...(body.callToAction ? { callToAction: body.callToAction } : {}),
      },
    );
  }

  @Get(':id')
  get(@Tenant() tenant: string, @Param('id') id: string): Promise<Conversation> {
    return this.command({ type: 'get', tenant, conversationId: parseId(id) });
  }

  @Post(':id/messages')
  @HttpCode(200)
  @ModerateText('text', 'headline', 'callToAction')
  reply(@Tenant() tenant: string, @Param('id') id: string, @Body(new ZodPipe(SendMessageBody)) body: z.infer<typeof SendMessageBody>): Promise<Conversation> {
    return this.command(
      {
        type: 'reply',
        tenant,
        conversationId: parseId(id),
        text: body.text,
        ...(body.headline !== undefined ? { headline: body.headline } : {}),
        ...(body.callToAction !== undefined ? { callToAction: body.callToAction } : {}),
      },
    );
  }

  @Post(':id/seed')
  @HttpCode(200)
  selectSeed(@Tenant() tenant: string, @Param('id') id: string, @Body(new ZodPipe(SelectSeedBody)) body: z.infer<typeof SelectSeedBody>): Promise<Conversation> {
    return this.command({ type: 'select-seed', tenant, conversationId: parseId(id), index: body.index });
  }

  /**
   * Server-sent events: the stored state first, then every change, until the client leaves. With
   * `Last-Event-ID` (an EventSource reconnecting) the stored state is sent only if it is newer than
   * that id: the client catches up on what changed while it was away and gets nothing twice.
   */
  @Get(':id/events')
  async events(@Tenant() tenant: string, @Param('id') id: string, @Headers('last-event-id') lastEventId: string | undefined, @Res() res: Response): Promise<void> {
    const conversationId = parseId(id);
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
    if (value.type !== 'reply') return this.marked(await this.runtime.queries.call(Queries.conversation, value));
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
      const reply = await this.runtime.queries.call(Queries.conversation, value);
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

/** A caption may hold 2,000 characters; the generator takes a subject of at most MAX_SUBJECT_CHARS (a surrogate pair is not split). */
const subjectOf = (caption: string): string => {
  const cut = caption.slice(0, MAX_SUBJECT_CHARS);
  return /[\ud800-\udbff]$/.test(cut) ? cut.slice(0, -1) : cut;
};

@Controller('v1/ads')
@UseGuards(TenantGuard)
export class AdsController {
  constructor(
    @Inject(RUNTIME) private readonly runtime: ServiceRuntime,
    @Inject(GATEWAY_ENV) private readonly env: GatewayEnv,
    private readonly assets: AssetsService,
    private readonly reviews: ReviewService,
    private readonly ads: SingleAds,
  ) {}

  /** Without a conversation: from a seed (+ brand), or from a segment via its best-matching seed. */
  @Post()
  @HttpCode(201)
  @ModerateText('segment', 'headline', 'callToAction')
  async create(@Tenant() tenant: string, @Body(new ZodPipe(CreateAdBody)) body: CreateAdBody, @Res({ passthrough: true }) res: Response) {
    if (body.brandPath) await this.assets.assertBrandImage(tenant, body.brandPath);
    let seedPath = body.seedPath;
    let subject: string | undefined;
    if (!seedPath) {
      const found = await this.runtime.queries.call(Queries.search, { tenant, text: body.segment!, k: 1, kind: 'seed', encoders: ['clip', 'caption'] });
      const best = found.hits[0];
      if (!best) throw new ApiError(404, 'no_seeds', 'the seed library has nothing for this segment yet: upload seed photos first', [{ field: 'segment', reason: 'no matching seed' }]);
      seedPath = best.path;
      subject = best.caption ? subjectOf(best.caption) : undefined;
    }
    const requested = await this.ads.request(
      {
        tenant,
        seedPath,
        ...(body.brandPath ? { brandPath: body.brandPath } : {}),
        ...(body.headline ? { headline: body.headline } : {}),
        ...(body.callToAction ? { callToAction: body.callToAction } : {}),
        ...(subject ? { subject } : {}),
        ...(body.segment ? { segment: body.segment } : {}),
      },
      { origin: 'direct', waitMs: this.env.ADSEED_AD_WAIT_MS },
    );
    const { outcome } = requested;
    if (!outcome) {
      // still being made: where it will be, and nothing else yet
      res.status(202);
      res.setHeader('Location', assetContentUrl(requested.path));
      return { status: 'generating' as const, ad: { path: requested.path, url: assetContentUrl(requested.path), seedPath, ...(subject ? { subject } : {}) } };
    }
    if (outcome.error || !outcome.ad) throw ServiceError.fromPayload(outcome.error ?? { status: 500, code: 'internal', message: 'generation answered without an ad' });
    const ad = outcome.ad;
    const review = await this.reviews.mark(tenant, ad.path, 'direct');
    return {
      ad: {
        path: ad.path,
        url: assetContentUrl(ad.path),
        seedPath: ad.seedPath,
        brandPath: ad.brandPath,
        generator: ad.generator,
        ...(subject ? { subject } : {}),
        ...(ad.fidelity !== undefined ? { fidelity: ad.fidelity } : {}),
        ...(ad.brandKitVersion !== undefined ? { brandKitVersion: ad.brandKitVersion } : {}),
        ...(review ? { review } : {}),
      },
    };
  }
}
