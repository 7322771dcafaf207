import { GenerationTopics, singleAdKey, type SingleAdCompleted, type SingleAdRequested } from '@adseed/contracts';
import { DEFAULT_RETRY, EVENT_BUS, ServiceError, type EventBus, type IncomingMessage } from '@adseed/messaging';
import { CLOCK, type Clock } from '@adseed/platform';
import { Inject, Injectable } from '@nestjs/common';
import { GenerateAdUseCase } from './generate-ad.use-case';

/**
 * One ad outside a job, requested by event: renders it to the key its request names and
 * announces the outcome — the ad, or the error a caller must see (a bad seed path is a 404 for
 * whoever asked, not a dead letter). A transient fault is retried by the bus; on the last
 * attempt it is announced as a failure, so nobody waits for an ad that will never come.
 */
@Injectable()
export class SingleAdUseCase {
  /** Deliveries before a transient failure is announced (the bus's own limit). */
  private readonly maxAttempts = DEFAULT_RETRY.maxAttempts;

  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    private readonly generate: GenerateAdUseCase,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  async execute(message: IncomingMessage<SingleAdRequested>): Promise<void> {
    const { requestId, origin, conversationId, request, requestedAt } = message.value;
    const outcome: Pick<SingleAdCompleted, 'ad' | 'error'> = {};
    try {
      outcome.ad = await this.generate.execute(request, { key: singleAdKey(request.tenant, requestedAt, requestId) });
    } catch (error) {
      if (error instanceof ServiceError) outcome.error = error.toPayload();
      else if (message.attempt < this.maxAttempts) throw error;
      else outcome.error = { status: 500, code: 'generation_failed', message: `the ad could not be generated: ${(error as Error).message}` };
    }
    await this.bus.publish(GenerationTopics.singleAdCompleted, {
      key: conversationId ?? requestId,
      value: { requestId, origin, tenant: request.tenant, seedPath: request.seedPath, ...(conversationId ? { conversationId } : {}), ...outcome, completedAt: this.now().toISOString() },
    });
  }
}
