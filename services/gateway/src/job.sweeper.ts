import type { ObjectStore } from '@adseed/storage';
import type { JobsRepository, StoredJob } from './jobs.repository';

export interface SweepResult {
  jobs: number;
  ads: number;
  stateObjects: number;
}

/**
 * Retention: removes jobs whose `expiresAt` has passed (their ads with them), every ad older
 * than the retention (conversation and direct ads too), and old tombstones and key records.
 * Idempotent, so replicas may sweep at the same time.
 */
export class JobSweeper {
  constructor(
    private readonly repository: JobsRepository,
    private readonly store: ObjectStore,
    private readonly options: { adBucket: string; retentionMs: number; now: () => Date; removeJob: (job: StoredJob) => Promise<void> },
  ) {}

  async sweep(): Promise<SweepResult> {
    const now = this.options.now();
    const cutoff = now.getTime() - this.options.retentionMs;
    const result: SweepResult = { jobs: 0, ads: 0, stateObjects: 0 };
    const expired: StoredJob[] = [];
    for await (const job of this.repository.all()) if (new Date(job.expiresAt).getTime() <= now.getTime()) expired.push(job);
    for (const job of expired) {
      await this.options.removeJob(job);
      result.jobs++;
    }
    result.ads = await this.deleteOlder(
      cutoff,
      (startAfter) => this.store.list(this.options.adBucket, '', { limit: 500, ...(startAfter ? { startAfter } : {}) }),
      (key) => this.store.delete(this.options.adBucket, key),
    );
    for (const prefix of ['job-cancels/', 'job-keys/']) {
      result.stateObjects += await this.deleteOlder(
        cutoff,
        (startAfter) => this.repository.listState(prefix, startAfter),
        (key) => this.repository.deleteState(key),
      );
    }
    return result;
  }

  private async deleteOlder(
    cutoff: number,
    page: (startAfter?: string) => Promise<{ items: Array<{ key: string; lastModified: Date }>; nextStartAfter?: string }>,
    remove: (key: string) => Promise<void>,
  ): Promise<number> {
    let removed = 0;
    let startAfter: string | undefined;
    for (;;) {
      const { items, nextStartAfter } = await page(startAfter);
      const old = items.filter((i) => i.lastModified.getTime() < cutoff);
      await Promise.all(old.map((i) => remove(i.key)));
      removed += old.length;
      if (!nextStartAfter) return removed;
      startAfter = nextStartAfter;
    }
  }
}
