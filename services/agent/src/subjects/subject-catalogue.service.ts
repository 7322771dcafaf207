import type { SeedGap, Subject } from '@adseed/contracts';
import { ObjectNotFoundError, type ObjectStore } from '@adseed/storage';
import type { Logger } from '@adseed/telemetry';
import { TenantCatalogue, type CatalogueSnapshot, type SubjectEdit, type SubjectEntry } from './tenant-catalogue';

/** Sentence embeddings, one vector per text, in order (the caption encoder behind the embedding service). */
export type EmbedTexts = (texts: string[]) => Promise<Float32Array[]>;
/** Injection token of the agent's `EmbedTexts` (the embedding service's caption encoder, over the query port). */
export const EMBED_TEXTS = Symbol('EMBED_TEXTS');

export interface SubjectCatalogueOptions {
  store: ObjectStore;
  bucket: string;
  embedTexts: EmbedTexts;
  logger: Logger;
  /** Subjects whose names are at least this similar (sentence-encoder cosine) are merged. */
  mergeCosine: number;
  /** How long changes may wait before the snapshot is written (ms). */
  saveDelayMs: number;
  now?: () => Date;
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

interface TenantState {
  catalogue: TenantCatalogue;
  /** serialises every change to this tenant's catalogue */
  queue: Promise<unknown>;
  saveTimer?: NodeJS.Timeout;
  savedVersion: number;
  /** name vectors for near-duplicate merging, by subject id */
  nameVectors: Map<string, Float32Array>;
}

/**
 * Every tenant's subject catalogue: kept in memory, fed by index events, merged for near
 * duplicates with the sentence encoder, and written to the object store (`<state>/subjects/<tenant>.json`)
 * shortly after it changes, so a restart resumes where it left off.
 */
/** Most seeds first, then by name (and id, so the order is total: pages resume after a key). */
export const subjectOrder = (a: Pick<Subject, 'seedCount' | 'name' | 'id'>, b: Pick<Subject, 'seedCount' | 'name' | 'id'>): number =>
  b.seedCount - a.seedCount || a.name.localeCompare(b.name) || a.id.localeCompare(b.id);

export class SubjectCatalogueService {
  private readonly tenants = new Map<string, Promise<TenantState>>();
  private readonly now: () => Date;

  constructor(private readonly options: SubjectCatalogueOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /** Runs `work` on the tenant's catalogue after every earlier change; saves afterwards. */
  async update<T>(tenant: string, work: (c: TenantCatalogue) => T | Promise<T>): Promise<T> {
    const state = await this.state(tenant);
    const next = state.queue.catch(() => undefined).then(() => work(state.catalogue));
    state.queue = next;
    const result = await next;
    this.scheduleSave(tenant, state);
    return result;
  }

  /** The tenant's catalogue once every queued change and near-duplicate merge is applied. */
  async read(tenant: string): Promise<TenantCatalogue> {
    await this.update(tenant, (c) => this.mergeNearDuplicates(c));
    return (await this.state(tenant)).catalogue;
  }

  async list(tenant: string, includeDisabled: boolean): Promise<Subject[]> {
    const catalogue = await this.read(tenant);
    return catalogue
      .all()
      .map((e) => catalogue.toSubject(e))
      .filter((s) => includeDisabled || !s.disabled)
      .sort(subjectOrder);
  }

  async edit(tenant: string, entry: SubjectEntry, edit: SubjectEdit): Promise<Subject> {
    return this.update(tenant, (c) => {
      c.edit(c.nameOf(entry), edit);
      return c.toSubject(entry);
    });
  }

  async recordGap(tenant: string, kind: SeedGap['kind'], text: string, bestScore: number | undefined): Promise<void> {
    await this.update(tenant, (c) => c.recordGap(kind, text, bestScore));
  }

  /** Writes every tenant's pending changes now (shutdown). */
  async flush(): Promise<void> {
    for (const [tenant, pending] of this.tenants) {
      const state = await pending;
      clearTimeout(state.saveTimer);
      await state.queue.catch(() => undefined);
      if (state.catalogue.version !== state.savedVersion) await this.save(tenant, state);
    }
  }

  /** Compares subjects not yet checked with all others by name; folds near duplicates into the larger one. */
  private async mergeNearDuplicates(c: TenantCatalogue): Promise<void> {
    const unchecked = c.unchecked();
    if (unchecked.length === 0) return;
    const state = await this.state(c.tenant);
    const all = c.all();
    const missing = all.filter((e) => !state.nameVectors.has(e.id));
    let vectors: Float32Array[];
    try {
      vectors = missing.length ? await this.embedInBatches(missing.map((e) => c.nameOf(e))) : [];
    } catch (error) {
      // without the encoder, subjects still merge by key; try again on the next read
      this.options.logger.warn('subject catalogue: cannot embed subject names for merging', { tenant: c.tenant, error: (error as Error).message });
      return;
    }
    missing.forEach((e, i) => state.nameVectors.set(e.id, vectors[i]));
    for (const entry of unchecked) {
      if (!c.byId(entry.id)) continue; // merged away earlier in this pass
      const vector = state.nameVectors.get(entry.id)!;
      let best: { entry: SubjectEntry; score: number } | undefined;
      for (const other of c.all()) {
        if (other === entry) continue;
        const v = state.nameVectors.get(other.id);
        if (!v) continue;
        const score = cosine(vector, v);
        if (score >= this.options.mergeCosine && (!best || score > best.score)) best = { entry: other, score };
      }
      entry.mergeChecked = true;
      if (!best) continue;
      const [from, into] = best.entry.members.size > entry.members.size ? [entry, best.entry] : [best.entry, entry];
      c.merge(from, into);
      state.nameVectors.delete(from.id);
      into.mergeChecked = true;
    }
  }

  private async embedInBatches(texts: string[]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += 256) out.push(...(await this.options.embedTexts(texts.slice(i, i + 256))));
    return out;
  }

  private state(tenant: string): Promise<TenantState> {
    let state = this.tenants.get(tenant);
    if (!state) {
      state = this.load(tenant);
      this.tenants.set(tenant, state);
      state.catch(() => this.tenants.delete(tenant));
    }
    return state;
  }

  private async load(tenant: string): Promise<TenantState> {
    await this.options.store.ensureBucket(this.options.bucket);
    let catalogue: TenantCatalogue;
    try {
      const { body } = await this.options.store.get(this.options.bucket, this.key(tenant));
      catalogue = TenantCatalogue.restore(JSON.parse(body.toString('utf8')) as CatalogueSnapshot, this.now);
    } catch (error) {
      if (!(error instanceof ObjectNotFoundError)) throw error;
      catalogue = new TenantCatalogue(tenant, this.now);
    }
    return { catalogue, queue: Promise.resolve(), savedVersion: catalogue.version, nameVectors: new Map() };
  }

  private scheduleSave(tenant: string, state: TenantState): void {
    if (state.saveTimer || state.catalogue.version === state.savedVersion) return;
    state.saveTimer = setTimeout(() => {
      state.saveTimer = undefined;
      state.queue = state.queue
        .catch(() => undefined)
        .then(() => this.save(tenant, state))
        .catch((error: Error) =>
          this.options.logger.error('subject catalogue: snapshot not written; retrying on the next change', { tenant, error: error.message }),
        );
    }, this.options.saveDelayMs);
    state.saveTimer.unref();
  }

  private async save(tenant: string, state: TenantState): Promise<void> {
    const version = state.catalogue.version;
    const body = Buffer.from(JSON.stringify(state.catalogue.snapshot()));
    await this.options.store.put(this.options.bucket, this.key(tenant), body, { contentType: 'application/json', metadata: { tenant } });
    state.savedVersion = version;
  }

  private key(tenant: string): string {
    return `subjects/${tenant}.json`;
  }
}
