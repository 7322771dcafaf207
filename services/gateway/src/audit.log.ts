import { randomBytes } from 'node:crypto';
import { AuditEntry, storeCursor, type ListAuditQuery } from '@adseed/contracts';
import { CLOCK, type Clock } from '@adseed/platform';
import { OBJECT_STORE, type ObjectStore } from '@adseed/storage';
import { Inject, Injectable } from '@nestjs/common';
import { STATE_BUCKET } from './gateway.env';
import type { Principal } from './roles';

export type AuditRecord = Omit<AuditEntry, 'id' | 'at' | 'tenant' | 'actor' | 'role'>;

const KEY_USE_PERIOD_MS = 3_600_000;

/**
 * The append-only audit log: one object per entry, `audit/<tenant>/<YYYY-MM-DD>/<time>-<seq>-<random>.json`
 * in the state bucket. Append-only by construction: every entry gets a new key, nothing here
 * writes an existing key or deletes one, and no sweeper touches the `audit/` prefix. Keys sort
 * by time, so a listing is oldest first and pages with the last key seen.
 */
@Injectable()
export class AuditLog {
  private seq = 0;
  /** Key name → the hour it was last recorded as used (per replica). */
  private readonly keyUse = new Map<string, number>();

  constructor(
    @Inject(OBJECT_STORE) private readonly store: ObjectStore,
    @Inject(STATE_BUCKET) private readonly bucket: string,
    @Inject(CLOCK) private readonly now: Clock = () => new Date(),
  ) {}

  async init(): Promise<void> {
    await this.store.ensureBucket(this.bucket);
  }

  async record(principal: Principal, record: AuditRecord): Promise<AuditEntry> {
    const at = this.now();
    const stamp = at.toISOString();
    const id = `${stamp.replace(/[-:.]/g, '')}-${(this.seq++ % 1e6).toString().padStart(6, '0')}-${randomBytes(4).toString('hex')}`;
    const entry = AuditEntry.parse({ id, at: stamp, tenant: principal.tenant, actor: principal.actor, role: principal.role, ...record });
    await this.store.put(this.bucket, `audit/${principal.tenant}/${stamp.slice(0, 10)}/${id}.json`, Buffer.from(JSON.stringify(entry)), {
      contentType: 'application/json',
      metadata: { tenant: principal.tenant },
    });
    return entry;
  }

  /** True the first time a key is seen in a clock hour (on this replica): then its use is recorded. */
  firstUseThisHour(principal: Principal): boolean {
    const hour = Math.floor(this.now().getTime() / KEY_USE_PERIOD_MS);
    const name = `${principal.tenant}/${principal.actor}`;
    if (this.keyUse.get(name) === hour) return false;
    this.keyUse.set(name, hour);
    return true;
  }

  async list(tenant: string, query: ListAuditQuery): Promise<{ items: AuditEntry[]; nextCursor?: string }> {
    // Cursors are relative to the tenant's log, so one stays valid with or without `day`.
    const root = `audit/${tenant}/`;
    const prefix = query.day ? `${root}${query.day}/` : root;
    const page = await this.store.list(this.bucket, prefix, {
      limit: query.limit,
      ...(query.cursor ? { startAfter: storeCursor.startAfter(root, query.cursor) } : {}),
    });
    const items = await Promise.all(
      page.items.map(async (i) => AuditEntry.parse(JSON.parse((await this.store.get(this.bucket, i.key)).body.toString('utf8')))),
    );
    return { items, ...(page.nextStartAfter ? { nextCursor: storeCursor.after(root, page.nextStartAfter) } : {}) };
  }
}
