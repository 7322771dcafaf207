import { randomUUID } from 'node:crypto';
import { GenerationTopics, singleAdKey, type GenerateAdRequest, type SingleAdCompleted } from '@adseed/contracts';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { EVENT_BUS, type EventBus } from '@adseed/messaging';
import type { Buckets } from '@adseed/config';
import { BUCKETS } from '@adseed/platform';
import { untilListening } from './event-stream';
import { replicaGroup } from './replica-group';

export interface RequestedAd {
  requestId: string;
  /** Where the ad will be (`<ads bucket>/<tenant>/<day>/<request id>.png`). */
  path: string;
  /** The outcome, when it came within the wait; undefined when the ad is still being made. */
  outcome?: SingleAdCompleted;
}

/**
 * Single ads by event: publishes `single-ad-requested` and waits — at most as long as asked — for
 * its `single-ad-completed`, which every gateway replica sees (each is its own consumer group,
 * starting at new messages, like the SSE hubs: `replicaGroup`, named after the replica and
 * deleted when it stops, so restarts leave no groups behind). Generation never answers a waiting
 * call: past the wait the ad is still made, at the path given out before.
 */
@Injectable()
export class SingleAds implements OnApplicationBootstrap {
  private readonly waiting = new Map<string, (outcome: SingleAdCompleted) => void>();
  /** Settles once the outcomes' subscription receives (its group joined): a request waits for it first. */
  private listening: Promise<void> = Promise.resolve();

  constructor(
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(BUCKETS) private readonly buckets: Buckets,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { bus } = this;
    await bus.ensureTopics([GenerationTopics.singleAdRequested, GenerationTopics.singleAdCompleted]);
    const subscription = await bus.subscribe(
      GenerationTopics.singleAdCompleted,
      { group: replicaGroup('gateway-ads'), fromBeginning: false, ephemeral: true },
      async (m) => {
        this.waiting.get(m.value.requestId)?.(m.value);
      },
    );
    // Starting at new messages: an outcome published before the group joined would never arrive.
    this.listening = untilListening(subscription, GenerationTopics.singleAdCompleted.name).catch(() => undefined);
  }

  async request(request: GenerateAdRequest, options: { origin: 'direct' | 'experiment'; waitMs: number }): Promise<RequestedAd> {
    const requestId = randomUUID();
    const requestedAt = new Date().toISOString();
    const path = `${this.buckets.ad}/${singleAdKey(request.tenant, requestedAt, requestId)}`;
    let timer: NodeJS.Timeout | undefined;
    // listening before publishing: the outcome cannot slip past
    const outcome = new Promise<SingleAdCompleted | undefined>((resolve) => {
      this.waiting.set(requestId, resolve);
      timer = setTimeout(() => resolve(undefined), options.waitMs);
    });
    try {
      await this.listening;
      await this.bus.publish(GenerationTopics.singleAdRequested, { key: requestId, value: { requestId, origin: options.origin, request, requestedAt } });
      return { requestId, path, outcome: await outcome };
    } finally {
      clearTimeout(timer);
      this.waiting.delete(requestId);
    }
  }
}
