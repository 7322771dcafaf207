import { createHash } from 'node:crypto';
import { DELETION_TOMBSTONE_TTL_MS, ingestPredatesDeletion, type SeedGap, type Subject } from '@adseed/contracts';
import { normalizePhrase, phrasesOf, subjectKey } from './subject-phrases';

export type SubjectSourceName = Subject['source'];
export interface SubjectEdit {
  description?: string;
  audience?: string;
  disabled?: boolean;
}

interface Alias {
  key: string;
  /** the phrase as the library writes it (normalised, not singularised) */
  surface: string;
}

/** One subject: its names (aliases), the seeds that show it, and how it came to be. */
export interface SubjectEntry {
  readonly id: string;
  readonly primaryKey: string;
  aliases: Alias[];
  members: Set<string>;
  source: SubjectSourceName;
  createdAt: string;
  updatedAt: string;
  /** set once the entry has been compared with the others for near duplicates */
  mergeChecked: boolean;
}

interface Membership {
  path: string;
  /** the phrase keys the asset's caption and tags give (library subjects) */
  keys: string[];
  /** when the ingest that last changed the asset's subjects was requested: a deletion older than it does not remove it */
  requestedAt?: string;
}

const EXAMPLES = 3;

/** The snapshot written to the object store; vectors are recomputed on load. */
export interface CatalogueSnapshot {
  version: 1;
  tenant: string;
  entries: { id: string; primaryKey: string; aliases: Alias[]; source: SubjectSourceName; members?: string[]; createdAt: string; updatedAt: string }[];
  membership: [assetId: string, path: string, keys: string[], requestedAt?: string][];
  edits: [key: string, edit: SubjectEdit][];
  gaps: SeedGap[];
  /** Assets deleted in the last `DELETION_TOMBSTONE_TTL_MS`, with when (absent in older snapshots). */
  deleted?: [assetId: string, deletedAt: string, recordedAt: string][];
}

export const subjectIdFor = (tenant: string, key: string): string => createHash('sha256').update(`${tenant}\u0000${key}`).digest('hex').slice(0, 16);

/**
 * One tenant's subject catalogue, kept current from index events: every asset contributes the
 * phrases of its tags and caption head; phrases with the same key share a subject; near
 * duplicates are merged by `merge()` (the caller decides which, with the sentence encoder).
 * Applying the same event twice changes nothing. No I/O here.
 */
type GapKey = Pick<SeedGap, 'count' | 'lastSeenAt' | 'kind' | 'text'>;
export const seedGapOrder = (a: GapKey, b: GapKey): number =>
  b.count - a.count || b.lastSeenAt.localeCompare(a.lastSeenAt) || a.kind.localeCompare(b.kind) || a.text.localeCompare(b.text);

export class TenantCatalogue {
  private readonly entries = new Map<string, SubjectEntry>(); // by id
  private readonly byKey = new Map<string, SubjectEntry>(); // every alias key
  private readonly membership = new Map<string, Membership>();
  private readonly keyCounts = new Map<string, number>();
  private readonly edits = new Map<string, SubjectEdit>();
  private readonly gaps = new Map<string, SeedGap>();
  /** assetId → its deletion: holds back `asset.indexed` of ingests in flight when the asset was deleted */
  private readonly deleted = new Map<string, { deletedAt: string; recordedAt: string }>();
  private deletedAtLastPrune = 0;
  /** bumped on every change, so caches (subject vectors) know when to refresh */
  version = 0;

  constructor(
    readonly tenant: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * An asset was indexed (new or changed): its subjects follow its caption and tags. An index of
   * an ingest requested (`requestedAt`) before the asset's deletion is ignored: the topics are
   * not ordered against each other, so it can arrive after the `asset.deleted`.
   */
  applyIndexed(asset: {
    assetId: string;
    path: string;
    caption?: string;
    tags?: readonly string[];
    labels?: readonly string[];
    requestedAt?: string;
  }): boolean {
    const tombstone = this.deleted.get(asset.assetId);
    if (tombstone && asset.requestedAt !== undefined && !this.expired(tombstone) && ingestPredatesDeletion(asset.requestedAt, tombstone.deletedAt)) {
      return false;
    }
    const phrases = phrasesOf(asset);
    const labels = (asset.labels ?? []).map(normalizePhrase).filter(Boolean);
    const previous = this.membership.get(asset.assetId);
    const keys = [...new Set([...phrases.map(subjectKey), ...labels.map(subjectKey)])];
    // the same subjects again: nothing changes, as in the index (whose record keeps the request time of the ingest that wrote it)
    if (previous && previous.path === asset.path && sameKeys(previous.keys, keys)) return false;
    const at = this.now().toISOString();
    if (previous) this.detach(asset.assetId, previous, at);
    const surfaces = new Map<string, { surface: string; source: SubjectSourceName }>();
    for (const p of phrases) surfaces.set(subjectKey(p), { surface: p, source: 'library' });
    for (const l of labels) if (!surfaces.has(subjectKey(l))) surfaces.set(subjectKey(l), { surface: l, source: 'zero-shot' });
    for (const [key, { surface, source }] of surfaces) {
      this.keyCounts.set(key, (this.keyCounts.get(key) ?? 0) + 1);
      const entry = this.byKey.get(key) ?? this.create(key, surface, source, at);
      if (!entry.members.has(asset.assetId)) {
        entry.members.add(asset.assetId);
        entry.updatedAt = at;
      }
    }
    this.membership.set(asset.assetId, {
      path: asset.path,
      keys: [...surfaces.keys()],
      ...(asset.requestedAt !== undefined ? { requestedAt: asset.requestedAt } : {}),
    });
    this.version++;
    return true;
  }

  /**
   * An asset was deleted: it leaves every subject, including those a person added. With
   * `deletedAt`, the deletion is remembered for `DELETION_TOMBSTONE_TTL_MS` (see `applyIndexed`),
   * and an asset indexed from an ingest requested after it (uploaded again, the deletion late)
   * stays.
   */
  applyDeleted(assetId: string, deletedAt?: string): boolean {
    const previous = this.membership.get(assetId);
    const at = this.now().toISOString();
    let changed = false;
    const known = this.deleted.get(assetId);
    if (deletedAt !== undefined && (known === undefined || Date.parse(deletedAt) > Date.parse(known.deletedAt))) {
      this.deleted.set(assetId, { deletedAt, recordedAt: at });
      changed = true;
      if (this.deleted.size >= 2 * this.deletedAtLastPrune + 1024) this.pruneDeleted();
    }
    // indexed again from an upload after this deletion (the deletion arrived late): it stays
    if (deletedAt !== undefined && previous?.requestedAt !== undefined && Date.parse(previous.requestedAt) > Date.parse(deletedAt)) {
      if (changed) this.version++;
      return changed;
    }
    if (previous) {
      this.detach(assetId, previous, at);
      this.membership.delete(assetId);
      changed = true;
    }
    for (const entry of this.entries.values()) {
      if (entry.members.delete(assetId)) {
        changed = true;
        this.dropIfEmpty(entry);
      }
    }
    if (changed) this.version++;
    return changed;
  }

  /** A subject a person named, with the seeds retrieval found for it above the floor. */
  addUserSubject(name: string, seeds: { assetId: string; path: string }[]): SubjectEntry {
    const key = subjectKey(name);
    const at = this.now().toISOString();
    const entry = this.byKey.get(key) ?? this.create(key, normalizePhrase(name), 'user', at);
    for (const s of seeds) {
      entry.members.add(s.assetId);
      if (!this.membership.has(s.assetId)) this.membership.set(s.assetId, { path: s.path, keys: [] });
    }
    entry.updatedAt = at;
    this.version++;
    return entry;
  }

  /** Edits are kept by name, so they also apply to a subject that appears later (the demo's descriptions). */
  edit(name: string, edit: SubjectEdit): void {
    const entry = this.byKey.get(subjectKey(name));
    const key = entry?.primaryKey ?? subjectKey(name);
    const merged = { ...this.edits.get(key), ...Object.fromEntries(Object.entries(edit).filter(([, v]) => v !== undefined)) };
    this.edits.set(key, merged);
    if (entry) entry.updatedAt = this.now().toISOString();
    this.version++;
  }

  /** Folds `from` into `into` (near duplicates): aliases, members and edits move; `from`'s id disappears. */
  merge(from: SubjectEntry, into: SubjectEntry): void {
    if (from === into) return;
    for (const alias of from.aliases) {
      into.aliases.push(alias);
      this.byKey.set(alias.key, into);
      const edit = this.edits.get(alias.key);
      if (edit && alias.key !== into.primaryKey) {
        this.edits.set(into.primaryKey, { ...edit, ...this.edits.get(into.primaryKey) });
      }
    }
    for (const m of from.members) into.members.add(m);
    if (into.source !== 'library' && from.source === 'library') into.source = 'library';
    into.updatedAt = this.now().toISOString();
    this.entries.delete(from.id);
    this.version++;
  }

  byId(id: string): SubjectEntry | undefined {
    return this.entries.get(id);
  }

  byName(name: string): SubjectEntry | undefined {
    return this.byKey.get(subjectKey(name));
  }

  all(): SubjectEntry[] {
    return [...this.entries.values()];
  }

  /** Subjects not yet compared with the others for near duplicates. */
  unchecked(): SubjectEntry[] {
    return this.all().filter((e) => !e.mergeChecked);
  }

  /** The name people see: the alias most seeds carry (shorter on ties). */
  nameOf(entry: SubjectEntry): string {
    let best = entry.aliases[0];
    for (const a of entry.aliases) {
      const [ca, cb] = [this.keyCounts.get(a.key) ?? 0, this.keyCounts.get(best.key) ?? 0];
      if (ca > cb || (ca === cb && a.surface.length < best.surface.length)) best = a;
    }
    return best.surface;
  }

  editOf(entry: SubjectEntry): SubjectEdit {
    let edit: SubjectEdit = {};
    // the primary key's edit wins over an alias's
    for (const a of [...entry.aliases].reverse()) edit = { ...edit, ...this.edits.get(a.key) };
    return { ...edit, ...this.edits.get(entry.primaryKey) };
  }

  toSubject(entry: SubjectEntry): Subject {
    const edit = this.editOf(entry);
    const examples: { assetId: string; path: string }[] = [];
    for (const assetId of entry.members) {
      const m = this.membership.get(assetId);
      if (m) examples.push({ assetId, path: m.path });
      if (examples.length === EXAMPLES) break;
    }
    const name = this.nameOf(entry);
    return {
      id: entry.id,
      name,
      ...(edit.description ? { description: edit.description } : {}),
      ...(edit.audience ? { audience: edit.audience } : {}),
      seedCount: entry.members.size,
      exampleSeeds: examples,
      aliases: [...new Set(entry.aliases.map((a) => a.surface))].filter((s) => s !== name),
      source: entry.source,
      disabled: edit.disabled ?? false,
      updatedAt: entry.updatedAt,
    };
  }

  /** Every seed of a subject, with its path. */
  seedsOf(entry: SubjectEntry): { assetId: string; path: string }[] {
    return [...entry.members].flatMap((assetId) => {
      const m = this.membership.get(assetId);
      return m ? [{ assetId, path: m.path }] : [];
    });
  }

  /** The subjects an asset belongs to (for ranking subjects by retrieval evidence). */
  subjectsOfAsset(assetId: string): SubjectEntry[] {
    const found = new Set<SubjectEntry>();
    const m = this.membership.get(assetId);
    for (const key of m?.keys ?? []) {
      const e = this.byKey.get(key);
      if (e) found.add(e);
    }
    return [...found];
  }

  recordGap(kind: SeedGap['kind'], text: string, bestScore: number | undefined): void {
    const normal = normalizePhrase(text);
    if (!normal) return;
    const id = `${kind}\u0000${normal}`;
    const at = this.now().toISOString();
    const previous = this.gaps.get(id);
    const best = [previous?.bestScore, bestScore].filter((s): s is number => s !== undefined);
    this.gaps.set(id, {
      kind,
      text: previous?.text ?? text.trim().slice(0, 500),
      count: (previous?.count ?? 0) + 1,
      ...(best.length ? { bestScore: Math.max(...best) } : {}),
      firstSeenAt: previous?.firstSeenAt ?? at,
      lastSeenAt: at,
    });
    this.version++;
  }

  /** Most frequent first, then most recent (then kind and text, so the order is total). */
  seedGaps(limit: number): SeedGap[] {
    return [...this.gaps.values()].sort(seedGapOrder).slice(0, limit);
  }

  snapshot(): CatalogueSnapshot {
    return {
      version: 1,
      tenant: this.tenant,
      entries: this.all().map((e) => ({
        id: e.id,
        primaryKey: e.primaryKey,
        aliases: e.aliases,
        source: e.source,
        // library members are rebuilt from the membership; a person's subject keeps its own
        ...(e.source === 'user' ? { members: [...e.members] } : {}),
        createdAt: e.createdAt,
        updatedAt: e.updatedAt,
      })),
      membership: [...this.membership].map(([id, m]): CatalogueSnapshot['membership'][number] =>
        m.requestedAt !== undefined ? [id, m.path, m.keys, m.requestedAt] : [id, m.path, m.keys],
      ),
      edits: [...this.edits],
      gaps: [...this.gaps.values()],
      deleted: [...this.deleted].filter(([, t]) => !this.expired(t)).map(([assetId, t]) => [assetId, t.deletedAt, t.recordedAt]),
    };
  }

  static restore(snapshot: CatalogueSnapshot, now?: () => Date): TenantCatalogue {
    const c = new TenantCatalogue(snapshot.tenant, now);
    for (const e of snapshot.entries) {
      const entry: SubjectEntry = {
        id: e.id,
        primaryKey: e.primaryKey,
        aliases: e.aliases,
        members: new Set(e.members ?? []),
        source: e.source,
        createdAt: e.createdAt,
        updatedAt: e.updatedAt,
        mergeChecked: true,
      };
      c.entries.set(entry.id, entry);
      for (const a of entry.aliases) c.byKey.set(a.key, entry);
    }
    for (const [assetId, path, keys, requestedAt] of snapshot.membership) {
      c.membership.set(assetId, { path, keys, ...(requestedAt !== undefined ? { requestedAt } : {}) });
      for (const key of keys) {
        c.keyCounts.set(key, (c.keyCounts.get(key) ?? 0) + 1);
        c.byKey.get(key)?.members.add(assetId);
      }
    }
    for (const [key, edit] of snapshot.edits) c.edits.set(key, edit);
    for (const g of snapshot.gaps) c.gaps.set(`${g.kind}\u0000${normalizePhrase(g.text)}`, g);
    for (const [assetId, deletedAt, recordedAt] of snapshot.deleted ?? []) {
      const tombstone = { deletedAt, recordedAt };
      if (!c.expired(tombstone)) c.deleted.set(assetId, tombstone);
    }
    c.deletedAtLastPrune = c.deleted.size;
    return c;
  }

  private create(key: string, surface: string, source: SubjectSourceName, at: string): SubjectEntry {
    const entry: SubjectEntry = {
      id: subjectIdFor(this.tenant, key),
      primaryKey: key,
      aliases: [{ key, surface }],
      members: new Set(),
      source,
      createdAt: at,
      updatedAt: at,
      mergeChecked: false,
    };
    this.entries.set(entry.id, entry);
    this.byKey.set(key, entry);
    return entry;
  }

  private detach(assetId: string, previous: Membership, at: string): void {
    for (const key of previous.keys) {
      const count = (this.keyCounts.get(key) ?? 1) - 1;
      if (count > 0) this.keyCounts.set(key, count);
      else this.keyCounts.delete(key);
      const entry = this.byKey.get(key);
      if (!entry || !entry.members.has(assetId)) continue;
      entry.members.delete(assetId);
      entry.updatedAt = at;
      this.dropIfEmpty(entry);
    }
  }

  /** Recorded longer ago than the time-to-live, or at a time that does not parse. */
  private expired(t: { recordedAt: string }): boolean {
    return !(Date.parse(t.recordedAt) >= this.now().getTime() - DELETION_TOMBSTONE_TTL_MS);
  }

  private pruneDeleted(): void {
    for (const [assetId, t] of this.deleted) if (this.expired(t)) this.deleted.delete(assetId);
    this.deletedAtLastPrune = this.deleted.size;
  }

  /** A library subject with no seeds left goes; one a person added or edited stays (so its id and edits do too). */
  private dropIfEmpty(entry: SubjectEntry): void {
    if (entry.members.size > 0 || entry.source === 'user') return;
    if (entry.aliases.some((a) => this.edits.has(a.key))) return;
    this.entries.delete(entry.id);
    for (const a of entry.aliases) if (this.byKey.get(a.key) === entry) this.byKey.delete(a.key);
  }
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((k) => set.has(k));
}
