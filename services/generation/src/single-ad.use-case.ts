import { GenerationTopics, singleAdKey, type SingleAdCompleted, type SingleAdRequested } from '@adseed/contracts';
import { DEFAULT_RETRY, EVENT_BUS, ServiceError, type EventBus, type IncomingMessage } from '@adseed/messaging';
import { CLOCK, LOGGER, type Clock } from '@adseed/platform';
import type { Logger } from '@adseed/telemetry';
import { Inject, Injectable } from '@nestjs/common';
import { GenerateAdUseCase } from './generate-ad.use-case';

/**
 * One ad outside a job, requested by event: renders it to the key its request names and
 * announces the outcome — the ad, or the error a caller must see (a bad seed path is a 404 for
 * whoever asked, not a dead letter). A transient fault is retried by the bus; on the last
 * attempt it is announced as a failure, so nobody waits for an ad that will never come.
 *
 * Idempotent under redelivery (the bus delivers at least once): when the request's key already
 * holds its ad, the ad is not rendered again, and its completion is announced again from the
 * stored object's metadata. Announced again rather than skipped: the earlier delivery may have
 * stopped between writing the ad and announcing it (a crash, a rebalance before the commit), and
 * then this announcement is the only one; a second one for the same request changes nothing
 * (the gateway resolves a request's wait once, the agent ignores an outcome it already applied).
 */
@Injectable()
export class SingleAdUseCase {
  /** Deliveries before a transient failure is announced (the bus's own limit). */
  private readonly maxAttempts = DEFAULT_RETRY.maxAttempts;

  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    private readonly generate: GenerateAdUseCase,
    @Inject(CLOCK) private readonly now: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async execute(message: IncomingMessage<SingleAdRequested>): Promise<void> {
    const { requestId, origin, conversationId, request, requestedAt } = message.value;
    const outcome: Pick<SingleAdCompleted, 'ad' | 'error'> = {};
    const key = singleAdKey(request.tenant, requestedAt, requestId);
    try {
      const made = await this.generate.stored(key);
      if (made) this.logger.info('single ad already made: announcing it again', { requestId, path: made.path, attempt: message.attempt });
      outcome.ad = made ?? (await this.generate.execute(request, { key }));
    } catch (error) {
      if (error instanceof ServiceError) outcome.error = error.toPayload();
      else if (message.attempt < this.maxAttempts) throw error;
      else outcome.error = { status: 500, code: 'generation_failed', message: `the ad could not be generated: ${(error as Error).message}` };
    }
    await this.bus.publish(GenerationTopics.singleAdCompleted, {
      key: conversationId ?? requestId,
      value: {
        requestId,
        origin,
        tenant: request.tenant,
        seedPath: request.seedPath,
        ...(conversationId ? { conversationId } : {}),
        ...outcome,
        completedAt: this.now().toISOString(),
      },
    });
  }
}
