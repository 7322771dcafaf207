import { JobTopics, type JobUpdated } from '@adseed/contracts';
import { type Subscription, EVENT_BUS, type EventBus } from '@adseed/messaging';
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { untilListening } from './event-stream';
import { replicaGroup } from './replica-group';

type Listener = (update: JobUpdated) => void;

/**
 * Fans `job.updated` out to the SSE clients of this gateway replica. Each replica is its own
 * consumer group (`replicaGroup`: named after the replica, deleted when it stops), starting at
 * new messages: every replica hears of every change.
 */
@Injectable()
export class JobEventsHub implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly listeners = new Map<string, Set<Listener>>();
  private subscription: Subscription | undefined;

  constructor(@Inject(EVENT_BUS) private readonly bus: EventBus) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.bus.ensureTopics([JobTopics.jobUpdated]);
    this.subscription = await this.bus.subscribe(
      JobTopics.jobUpdated,
      { group: replicaGroup('gateway-job-sse'), fromBeginning: false, ephemeral: true },
      async (m) => {
        for (const listener of this.listeners.get(m.key) ?? []) listener(m.value);
      },
    );
  }

  async onApplicationShutdown(): Promise<void> {
    await this.subscription?.close();
  }

  /** Resolves once updates reach this hub: a stream that reads the stored state after this misses no change. */
  listening(): Promise<void> {
    return untilListening(this.subscription, JobTopics.jobUpdated.name);
  }

  listen(jobId: string, listener: Listener): () => void {
    const set = this.listeners.get(jobId) ?? new Set<Listener>();
    set.add(listener);
    this.listeners.set(jobId, set);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(jobId);
    };
  }
}
