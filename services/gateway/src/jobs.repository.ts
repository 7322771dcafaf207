import { AdFailed, AdFormat, AdGenerated, AdRequested, JobStateKeys } from '@adseed/contracts';
import { ObjectNotFoundError, type ObjectInfo, type ObjectStore, OBJECT_STORE } from '@adseed/storage';
import { z } from 'zod';
import { Inject, Injectable } from '@nestjs/common';
import { STATE_BUCKET } from './gateway.env';

/** A job as stored: the request and its plan (one ad-requested event per ad), written once. */
export const StoredJob = z.object({
  id: z.string(),
  tenant: z.string(),
  request: z.object({
    brandPath: z.string(),
    segments: z.array(z.string()).optional(),
    seedPaths: z.array(z.string()).optional(),
    formats: z.array(AdFormat),
    variants: z.number().int(),
    headline: z.string().optional(),
    callToAction: z.string().optional(),
    generator: z.enum(['local', 'replicate']).optional(),
    minScore: z.number().optional(),
    brandKitVersion: z.number().int().optional(),
  }),
  requestHash: z.string(),
  idempotencyKeyHash: z.string().optional(),
  ads: z.array(AdRequested),
  createdAt: z.string(),
  expiresAt: z.string(),
});
export type StoredJob = z.infer<typeof StoredJob>;

/** One ad's fate, stored under its index: written again on redelivery, never counted twice. */
export const StoredOutcome = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('generated'), event: AdGenerated }),
  z.object({ kind: z.literal('failed'), event: AdFailed }),
]);
export type StoredOutcome = z.infer<typeof StoredOutcome>;

const IdempotencyRecord = z.object({ jobId: z.string(), requestHash: z.string() });

/**
 * Job state in the object store (layout in `JobStateKeys`): any gateway replica can answer for
 * any job, and a restart loses nothing. Only this class touches the state bucket's job keys.
 */
@Injectable()
export class JobsRepository {
  constructor(
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(STATE_BUCKET) readonly bucket: string,
  ) {}

  async init(): Promise<void> {
    await this.store.ensureBucket(this.bucket);
  }

  async get(tenant: string, id: string): Promise<StoredJob | undefined> {
    const body = await this.read(JobStateKeys.job(tenant, id));
    return body === undefined ? undefined : StoredJob.parse(JSON.parse(body));
  }

  async save(job: StoredJob): Promise<void> {
    await this.write(JobStateKeys.job(job.tenant, job.id), StoredJob.parse(job), { tenant: job.tenant, expires: job.expiresAt });
  }

  /** A page of a tenant's jobs, newest first (ids sort that way). */
  async list(tenant: string, limit: number, afterId?: string): Promise<{ jobs: StoredJob[]; nextId?: string }> {
    const prefix = JobStateKeys.jobPrefix(tenant);
    const page = await this.store.list(this.bucket, prefix, { limit, ...(afterId ? { startAfter: JobStateKeys.job(tenant, afterId) } : {}) });
    const jobs = (await Promise.all(page.items.map((i) => this.read(i.key)))).flatMap((body) =>
      body === undefined ? [] : [StoredJob.parse(JSON.parse(body))],
    );
    const last = page.nextStartAfter ? jobs[jobs.length - 1] : undefined;
    return { jobs, ...(last ? { nextId: last.id } : {}) };
  }

  /** Every stored job of every tenant, a page at a time (resume and sweeper). */
  async *all(): AsyncGenerator<StoredJob> {
    let startAfter: string | undefined;
    for (;;) {
      const page = await this.store.list(this.bucket, 'jobs/', { limit: 200, ...(startAfter ? { startAfter } : {}) });
      for (const item of page.items) {
        const body = await this.read(item.key);
        if (body !== undefined) {
          const parsed = StoredJob.safeParse(JSON.parse(body));
          if (parsed.success) yield parsed.data;
        }
      }
      if (!page.nextStartAfter) return;
      startAfter = page.nextStartAfter;
    }
  }

  async outcomes(tenant: string, id: string): Promise<{ outcomes: Map<number, StoredOutcome>; updatedAt?: Date }> {
    const outcomes = new Map<number, StoredOutcome>();
    let updatedAt: Date | undefined;
    let startAfter: string | undefined;
    for (;;) {
      const page = await this.store.list(this.bucket, JobStateKeys.outcomePrefix(tenant, id), { limit: 1000, ...(startAfter ? { startAfter } : {}) });
      const bodies = await Promise.all(page.items.map(async (i) => ({ info: i, body: await this.read(i.key) })));
      for (const { info, body } of bodies) {
        if (body === undefined) continue;
        const parsed = StoredOutcome.safeParse(JSON.parse(body));
        if (!parsed.success) continue;
        outcomes.set(parsed.data.event.index, parsed.data);
        if (!updatedAt || info.lastModified > updatedAt) updatedAt = info.lastModified;
      }
      if (!page.nextStartAfter) break;
      startAfter = page.nextStartAfter;
    }
    return { outcomes, ...(updatedAt ? { updatedAt } : {}) };
  }

  async outcome(tenant: string, id: string, index: number): Promise<StoredOutcome | undefined> {
    const body = await this.read(JobStateKeys.outcome(tenant, id, index));
    return body === undefined ? undefined : StoredOutcome.parse(JSON.parse(body));
  }

  async saveOutcome(outcome: StoredOutcome): Promise<void> {
    const { tenant, jobId, index } = outcome.event;
    await this.write(JobStateKeys.outcome(tenant, jobId, index), outcome, { tenant, kind: outcome.kind });
  }

  async cancelledAt(tenant: string, id: string): Promise<Date | undefined> {
    const body = await this.read(JobStateKeys.cancel(tenant, id));
    if (body === undefined) return undefined;
    const at = new Date(String((JSON.parse(body) as { cancelledAt?: unknown }).cancelledAt));
    return Number.isNaN(at.getTime()) ? new Date(0) : at;
  }

  async markCancelled(tenant: string, id: string, at: Date): Promise<void> {
    await this.write(JobStateKeys.cancel(tenant, id), { jobId: id, cancelledAt: at.toISOString() }, { tenant });
  }

  async idempotencyRecord(tenant: string, keyHash: string): Promise<z.infer<typeof IdempotencyRecord> | undefined> {
    const body = await this.read(JobStateKeys.idempotencyKey(tenant, keyHash));
    return body === undefined ? undefined : IdempotencyRecord.parse(JSON.parse(body));
  }

  async saveIdempotencyRecord(tenant: string, keyHash: string, record: z.infer<typeof IdempotencyRecord>): Promise<void> {
    await this.write(JobStateKeys.idempotencyKey(tenant, keyHash), record, { tenant });
  }

  /** Removes the job's plan, outcomes and key record; the cancel marker stays as a tombstone. */
  async remove(job: StoredJob): Promise<void> {
    const { outcomes } = await this.outcomes(job.tenant, job.id);
    await Promise.all([...outcomes.keys()].map((index) => this.store.delete(this.bucket, JobStateKeys.outcome(job.tenant, job.id, index))));
    if (job.idempotencyKeyHash) await this.store.delete(this.bucket, JobStateKeys.idempotencyKey(job.tenant, job.idempotencyKeyHash));
    await this.store.delete(this.bucket, JobStateKeys.job(job.tenant, job.id));
  }

  /** Objects under a state prefix (tombstones, key records), for the sweeper. */
  async listState(prefix: string, startAfter?: string): Promise<{ items: ObjectInfo[]; nextStartAfter?: string }> {
    return this.store.list(this.bucket, prefix, { limit: 500, ...(startAfter ? { startAfter } : {}) });
  }

  async deleteState(key: string): Promise<void> {
    await this.store.delete(this.bucket, key);
  }

  private async read(key: string): Promise<string | undefined> {
    try {
      return (await this.store.get(this.bucket, key)).body.toString('utf8');
    } catch (error) {
      if (error instanceof ObjectNotFoundError) return undefined;
      throw error;
    }
  }

  private async write(key: string, value: unknown, metadata: Record<string, string>): Promise<void> {
    await this.store.put(this.bucket, key, Buffer.from(JSON.stringify(value)), { contentType: 'application/json', metadata });
  }
}
