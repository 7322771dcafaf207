import { JobTopics } from '@adseed/contracts';
import { type Subscription, EVENT_BUS, type EventBus } from '@adseed/messaging';
import { BUCKETS, CLOCK, LOGGER, SERVICE_CONFIG, type Clock } from '@adseed/platform';
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { OBJECT_STORE, type ObjectStore } from '@adseed/storage';
import type { Buckets } from '@adseed/config';
import type { Logger } from '@adseed/telemetry';
import type { GatewayEnv } from './gateway.env';
import { JobSweeper } from './job.sweeper';
import { JobsRepository } from './jobs.repository';
import { JobsService } from './jobs.service';

/** Gateway replicas share this group: each outcome is folded by one of them. */
export const GATEWAY_JOBS_GROUP = 'gateway-jobs';
const DAY_MS = 86_400_000;

/** The job owner's background work: fold outcomes, resume unfinished jobs on start, sweep expired ones. */
@Injectable()
export class JobsConsumers implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<unknown> | undefined;
  private readonly subscriptions: Subscription[] = [];

  constructor(
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(BUCKETS) private readonly buckets: Buckets,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SERVICE_CONFIG) private readonly env: GatewayEnv,
    private readonly repository: JobsRepository,
    private readonly jobs: JobsService,
    @Inject(CLOCK) private readonly now: Clock,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const { bus, store, buckets, logger } = this;
    await this.repository.init();
    await store.ensureBucket(buckets.ad);
    await bus.ensureTopics([JobTopics.adRequested, JobTopics.adGenerated, JobTopics.adFailed, JobTopics.jobUpdated]);
    this.subscriptions.push(
      await bus.subscribe(JobTopics.adGenerated, { group: GATEWAY_JOBS_GROUP }, (m) => this.jobs.recordGenerated(m.value)),
      await bus.subscribe(JobTopics.adFailed, { group: GATEWAY_JOBS_GROUP }, (m) => this.jobs.recordFailed(m.value)),
    );
    const resumed = await this.jobs.resume();
    if (resumed.jobs > 0) logger.info('unfinished jobs resumed', resumed);
    if (this.env.ADSEED_JOB_SWEEP_INTERVAL_MS > 0) {
      this.timer = setInterval(() => void this.sweepOnce(), this.env.ADSEED_JOB_SWEEP_INTERVAL_MS);
      this.timer.unref();
    }
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const subscription of this.subscriptions.splice(0)) await subscription.close();
    await this.sweeping;
  }

  sweeper(): JobSweeper {
    return new JobSweeper(this.repository, this.store, {
      adBucket: this.buckets.ad,
      retentionMs: this.env.ADSEED_JOB_RETENTION_DAYS * DAY_MS,
      now: this.now,
      removeJob: async (job) => {
        await this.jobs.removeAds(job);
        await this.repository.remove(job);
      },
    });
  }

  private async sweepOnce(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = this.sweeper()
      .sweep()
      .then((result) => {
        if (result.jobs + result.ads + result.stateObjects > 0) this.logger.info('retention sweep', { ...result });
      })
      .catch((error: Error) => this.logger.error('retention sweep failed', { error }))
      .finally(() => {
        this.sweeping = undefined;
      });
    await this.sweeping;
  }
}
