import { GenerationTopics, singleAdKey, type SingleAdCompleted, type SingleAdRequested } from '@adseed/contracts';
import { DEFAULT_RETRY, ServiceError, type IncomingMessage } from '@adseed/messaging';
import type { ServiceRuntime } from '@adseed/platform';
import type { GenerateAdUseCase } from './generate-ad.use-case';

/**
 * One ad outside a job, requested by event: renders it to the key its request names and
 * announces the outcome — the ad, or the error a caller must see (a bad seed path is a 404 for
 * whoever asked, not a dead letter). A transient fault is retried by the bus; on the last
 * attempt it is announced as a failure, so nobody waits for an ad that will never come.
 */
export class SingleAdUseCase {
  constructor(
    private readonly runtime: ServiceRuntime,
    private readonly generate: GenerateAdUseCase,
    private readonly maxAttempts = DEFAULT_RETRY.maxAttempts,
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
    await this.runtime.bus.publish(GenerationTopics.singleAdCompleted, {
      key: conversationId ?? requestId,
      value: { requestId, origin, tenant: request.tenant, seedPath: request.seedPath, ...(conversationId ? { conversationId } : {}), ...outcome, completedAt: new Date().toISOString() },
    });
  }
}
