import { ASSET_KINDS, IndexedPayload, SearchFilter, VECTOR_NAMES, VectorName } from './vector-index.port';

/**
 * The records of the embedded index, column by column: no JS object per record. A million
 * payload objects (with their tag arrays and strings) would cost more memory than the 4-bit
 * vector codes and take seconds to rebuild at start-up; here a record is an index into typed
 * arrays, its payload is JSON bytes in one arena (decoded only for hits and `get`), and its tags
 * are codes in a second arena. Records are kept dense: deleting one moves the last into its slot.
 */
export class RecordTable {
  private capacity: number;
  private count = 0;
  /** Ids: UTF-8 bytes in an arena, their FNV-1a hashes, and a linear-probing table of records. */
  private idArena: Buffer;
  private idUsed = 0;
  private idStart: Float64Array;
  private idLength: Int32Array;
  private idHash: Int32Array;
  private slots: Int32Array;
  private tenantOf: Int32Array;
  private kindOf: Uint8Array;
  private tagStart: Int32Array;
  private tagCount: Int32Array;
  private payloadStart: Float64Array;
  private payloadLength: Int32Array;
  private readonly rowOf: Record<VectorName, Int32Array>;
  private tagArena: Int32Array;
  private tagUsed = 0;
  private payloadArena: Buffer;
  private payloadUsed = 0;
  readonly tenants = new Dictionary();
  readonly tags = new Dictionary();

  constructor(initialCapacity = 1024) {
    this.capacity = Math.max(16, initialCapacity);
    const c = this.capacity;
    this.tenantOf = new Int32Array(c);
    this.kindOf = new Uint8Array(c);
    this.tagStart = new Int32Array(c);
    this.tagCount = new Int32Array(c);
    this.payloadStart = new Float64Array(c);
    this.payloadLength = new Int32Array(c);
    this.rowOf = { clip: new Int32Array(c), caption: new Int32Array(c) };
    this.tagArena = new Int32Array(c);
    this.payloadArena = Buffer.allocUnsafe(c * 64);
    this.idArena = Buffer.allocUnsafe(c * 16);
    this.idStart = new Float64Array(c);
    this.idLength = new Int32Array(c);
    this.idHash = new Int32Array(c);
    this.slots = new Int32Array(4 * c).fill(-1);
  }

  get size(): number {
    return this.count;
  }

  indexOf(id: string): number | undefined {
    const bytes = Buffer.from(id, 'utf8');
    const hash = fnv1a(bytes);
    const mask = this.slots.length - 1;
    for (let j = hash & mask; ; j = (j + 1) & mask) {
      const record = this.slots[j];
      if (record === -1) return undefined;
      if (
        this.idHash[record] === hash &&
        this.idLength[record] === bytes.length &&
        this.idArena.compare(bytes, 0, bytes.length, this.idStart[record], this.idStart[record] + bytes.length) === 0
      )
        return record;
    }
  }

  idAt(record: number): string {
    const start = this.idStart[record];
    return this.idArena.toString('utf8', start, start + this.idLength[record]);
  }

  tenantCode(record: number): number {
    return this.tenantOf[record];
  }

  row(record: number, name: VectorName): number {
    return this.rowOf[name][record];
  }

  setRow(record: number, name: VectorName, row: number): void {
    this.rowOf[name][record] = row;
  }

  payload(record: number): IndexedPayload {
    const start = this.payloadStart[record];
    return JSON.parse(this.payloadArena.toString('utf8', start, start + this.payloadLength[record])) as IndexedPayload;
  }

  /**
   * Appends a record (the caller removed any previous one with this id) with no vectors yet;
   * `payloadJson` is `JSON.stringify(payload)`.
   */
  add(id: string, payload: IndexedPayload, payloadJson: string): number {
    if (this.count === this.capacity) this.grow(Math.max(16, Math.ceil(this.capacity * 1.5)));
    const record = this.count++;
    const idBytes = Buffer.byteLength(id);
    this.idArena = reserve(this.idArena, this.idUsed, idBytes);
    this.idStart[record] = this.idUsed;
    this.idLength[record] = this.idArena.write(id, this.idUsed);
    this.idUsed += idBytes;
    this.idHash[record] = fnv1a(this.idArena.subarray(this.idStart[record], this.idUsed));
    if (2 * this.count > this.slots.length)
      this.rehash(4 * this.count); // places the new record too
    else this.place(record);
    this.tenantOf[record] = this.tenants.code(payload.tenant);
    this.kindOf[record] = ASSET_KINDS.indexOf(payload.kind);
    const tags = [...new Set(payload.tags)];
    if (this.tagUsed + tags.length > this.tagArena.length) {
      this.tagArena = widen(this.tagArena, Math.max(this.tagUsed + tags.length, Math.ceil(this.tagArena.length * 1.5)));
    }
    this.tagStart[record] = this.tagUsed;
    this.tagCount[record] = tags.length;
    for (const tag of tags) this.tagArena[this.tagUsed++] = this.tags.code(tag);
    const bytes = Buffer.byteLength(payloadJson);
    this.payloadArena = reserve(this.payloadArena, this.payloadUsed, bytes);
    this.payloadStart[record] = this.payloadUsed;
    this.payloadLength[record] = this.payloadArena.write(payloadJson, this.payloadUsed);
    this.payloadUsed += bytes;
    for (const name of VECTOR_NAMES) this.rowOf[name][record] = -1;
    return record;
  }

  /**
   * Removes `record` by moving the last record into its slot. Returns the moved record's old
   * index (now `record`), or -1 when `record` was the last. Its tag codes and payload bytes stay
   * in the arenas as garbage until `compacted()` rewrites them.
   */
  remove(record: number): number {
    const last = --this.count;
    this.unplace(record);
    if (record !== last) {
      this.slots[this.slotOf(last)] = record;
      for (const arr of [
        this.tenantOf,
        this.kindOf,
        this.tagStart,
        this.tagCount,
        this.payloadStart,
        this.payloadLength,
        this.idStart,
        this.idLength,
        this.idHash,
        this.rowOf.clip,
        this.rowOf.caption,
      ])
        arr[record] = arr[last];
    }
    return record === last ? -1 : last;
  }

  /** The non-tenant part of a filter as a predicate over records, or null when it accepts all. */
  acceptor(filter: Partial<SearchFilter>): ((record: number) => boolean) | null {
    const kind = filter.kind === undefined ? -1 : ASSET_KINDS.indexOf(filter.kind);
    const wanted = [...new Set(filter.tagsAll ?? [])].map((tag) => this.tags.find(tag));
    if (wanted.includes(undefined)) return () => false; // a tag no record carries
    const codes = Int32Array.from(wanted as number[]);
    if (kind < 0 && codes.length === 0) return null;
    return (record) => {
      if (kind >= 0 && this.kindOf[record] !== kind) return false;
      const start = this.tagStart[record];
      const end = start + this.tagCount[record];
      for (let w = 0; w < codes.length; w++) {
        let found = false;
        for (let i = start; i < end && !found; i++) found = this.tagArena[i] === codes[w];
        if (!found) return false;
      }
      return true;
    };
  }

  /** Records of `filter.tenant` (any tenant when absent) accepted by the rest of the filter. */
  countMatching(filter: Partial<SearchFilter>): number {
    let tenant = 0;
    if (filter.tenant !== undefined) {
      const code = this.tenants.find(filter.tenant);
      if (code === undefined) return 0;
      tenant = code;
    }
    const accept = this.acceptor(filter);
    let n = 0;
    for (let r = 0; r < this.count; r++) {
      if ((tenant === 0 || this.tenantOf[r] === tenant) && (accept === null || accept(r))) n++;
    }
    return n;
  }

  // --- persistence ----------------------------------------------------------------------------

  /** The table as snapshot sections, with payloads and tags packed (garbage dropped). */
  toSections(): RecordSections {
    const n = this.count;
    const tagStart = new Int32Array(n + 1);
    let tags = 0;
    for (let r = 0; r < n; r++) tags += this.tagCount[r];
    const tagCodes = new Int32Array(tags);
    const payloadStart = new Float64Array(n + 1);
    let bytes = 0;
    for (let r = 0; r < n; r++) bytes += this.payloadLength[r];
    const payloads = Buffer.allocUnsafe(bytes);
    let t = 0,
      p = 0;
    for (let r = 0; r < n; r++) {
      tagStart[r] = t;
      tagCodes.set(this.tagArena.subarray(this.tagStart[r], this.tagStart[r] + this.tagCount[r]), t);
      t += this.tagCount[r];
      payloadStart[r] = p;
      this.payloadArena.copy(payloads, p, this.payloadStart[r], this.payloadStart[r] + this.payloadLength[r]);
      p += this.payloadLength[r];
    }
    tagStart[n] = t;
    payloadStart[n] = p;
    const idStart = new Float64Array(n + 1);
    let idBytes = 0;
    for (let r = 0; r < n; r++) idBytes += this.idLength[r];
    const ids = Buffer.allocUnsafe(idBytes);
    let i = 0;
    for (let r = 0; r < n; r++) {
      idStart[r] = i;
      i += this.idArena.copy(ids, i, this.idStart[r], this.idStart[r] + this.idLength[r]);
    }
    idStart[n] = i;
    return {
      ids,
      idStart,
      idHash: this.idHash.subarray(0, n),
      idSlots: this.slots,
      tenantNames: Buffer.from(JSON.stringify(this.tenants.names)),
      tagNames: Buffer.from(JSON.stringify(this.tags.names)),
      tenant: this.tenantOf.subarray(0, n),
      kind: this.kindOf.subarray(0, n),
      tagStart,
      tagCodes,
      payloadStart,
      payloads,
      rowClip: this.rowOf.clip.subarray(0, n),
      rowCaption: this.rowOf.caption.subarray(0, n),
    };
  }

  /** Replaces the whole table with one read from a snapshot (arrays are adopted, not copied). */
  static fromSections(s: RecordSections): RecordTable {
    const n = s.tenant.length;
    const table = new RecordTable(0);
    table.capacity = n;
    table.count = n;
    table.idArena = s.ids;
    table.idUsed = s.ids.length;
    table.idStart = s.idStart.subarray(0, n);
    table.idLength = new Int32Array(n);
    for (let r = 0; r < n; r++) table.idLength[r] = s.idStart[r + 1] - s.idStart[r];
    table.idHash = s.idHash;
    table.slots = s.idSlots;
    table.tenants.adopt(JSON.parse(s.tenantNames.toString('utf8')) as string[]);
    table.tags.adopt(JSON.parse(s.tagNames.toString('utf8')) as string[]);
    table.tenantOf = s.tenant;
    table.kindOf = s.kind;
    table.tagArena = s.tagCodes;
    table.tagUsed = s.tagCodes.length;
    table.tagStart = s.tagStart.subarray(0, n);
    table.tagCount = new Int32Array(n);
    for (let r = 0; r < n; r++) table.tagCount[r] = s.tagStart[r + 1] - s.tagStart[r];
    table.payloadArena = s.payloads;
    table.payloadUsed = s.payloads.length;
    table.payloadStart = s.payloadStart.subarray(0, n);
    table.payloadLength = new Int32Array(n);
    for (let r = 0; r < n; r++) table.payloadLength[r] = s.payloadStart[r + 1] - s.payloadStart[r];
    table.rowOf.clip = s.rowClip;
    table.rowOf.caption = s.rowCaption;
    return table;
  }

  /** Adopts the packed arenas just written to a snapshot, dropping the garbage of the old ones. */
  compacted(s: RecordSections): void {
    this.idArena = s.ids;
    this.idUsed = s.ids.length;
    this.tagArena = s.tagCodes;
    this.tagUsed = s.tagCodes.length;
    this.payloadArena = s.payloads;
    this.payloadUsed = s.payloads.length;
    for (let r = 0; r < this.count; r++) {
      this.idStart[r] = s.idStart[r];
      this.tagStart[r] = s.tagStart[r];
      this.payloadStart[r] = s.payloadStart[r];
    }
  }

  /** Puts `record` in the first free slot of its probe sequence. */
  private place(record: number): void {
    const mask = this.slots.length - 1;
    let j = this.idHash[record] & mask;
    while (this.slots[j] !== -1) j = (j + 1) & mask;
    this.slots[j] = record;
  }

  private slotOf(record: number): number {
    const mask = this.slots.length - 1;
    let j = this.idHash[record] & mask;
    while (this.slots[j] !== record) {
      if (this.slots[j] === -1) throw new Error(`record ${record} is missing from the id table`);
      j = (j + 1) & mask;
    }
    return j;
  }

  /** Frees `record`'s slot, shifting later entries of the run back so every probe still finds them. */
  private unplace(record: number): void {
    const mask = this.slots.length - 1;
    let hole = this.slotOf(record);
    this.slots[hole] = -1;
    for (let j = (hole + 1) & mask; this.slots[j] !== -1; j = (j + 1) & mask) {
      const home = this.idHash[this.slots[j]] & mask;
      // The entry at j may move into the hole unless its home lies cyclically in (hole, j].
      const between = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!between) {
        this.slots[hole] = this.slots[j];
        this.slots[j] = -1;
        hole = j;
      }
    }
  }

  private rehash(minSlots: number): void {
    let size = 16;
    while (size < minSlots) size *= 2;
    this.slots = new Int32Array(size).fill(-1);
    for (let r = 0; r < this.count; r++) this.place(r);
  }

  private grow(capacity: number): void {
    this.tenantOf = widen(this.tenantOf, capacity);
    this.kindOf = widen(this.kindOf, capacity);
    this.tagStart = widen(this.tagStart, capacity);
    this.tagCount = widen(this.tagCount, capacity);
    this.payloadStart = widen(this.payloadStart, capacity);
    this.payloadLength = widen(this.payloadLength, capacity);
    this.idStart = widen(this.idStart, capacity);
    this.idLength = widen(this.idLength, capacity);
    this.idHash = widen(this.idHash, capacity);
    for (const name of VECTOR_NAMES) this.rowOf[name] = widen(this.rowOf[name], capacity);
    this.capacity = capacity;
  }
}

export interface RecordSections {
  /** Record r's id is ids[idStart[r] .. idStart[r + 1]) (UTF-8); n + 1 entries. */
  ids: Buffer;
  idStart: Float64Array;
  /** FNV-1a of each id's bytes, and the id table: a power-of-two array of records or -1, linear probing. */
  idHash: Int32Array;
  idSlots: Int32Array;
  /** JSON arrays of names; code c is names[c - 1] (0 is never used). */
  tenantNames: Buffer;
  tagNames: Buffer;
  tenant: Int32Array;
  kind: Uint8Array;
  /** Record r's tag codes are tagCodes[tagStart[r] .. tagStart[r + 1]); n + 1 entries. */
  tagStart: Int32Array;
  tagCodes: Int32Array;
  /** Record r's payload JSON is payloads[payloadStart[r] .. payloadStart[r + 1]); n + 1 entries. */
  payloadStart: Float64Array;
  payloads: Buffer;
  /** Row of the record in each vector column, -1 when it has no such vector. */
  rowClip: Int32Array;
  rowCaption: Int32Array;
}

/** Strings to small positive integer codes (1, 2, ...), never reused. */
export class Dictionary {
  private readonly codes = new Map<string, number>();
  names: string[] = [];

  find(name: string): number | undefined {
    return this.codes.get(name);
  }

  code(name: string): number {
    let code = this.codes.get(name);
    if (code === undefined) {
      this.names.push(name);
      code = this.names.length;
      this.codes.set(name, code);
    }
    return code;
  }

  adopt(names: string[]): void {
    this.names = names;
    this.codes.clear();
    names.forEach((name, i) => this.codes.set(name, i + 1));
  }
}

/** 32-bit FNV-1a of `bytes`. */
export function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h | 0;
}

/** `arena`, or a larger copy of its first `used` bytes, with room for `more` bytes after them. */
function reserve(arena: Buffer, used: number, more: number): Buffer {
  if (used + more <= arena.length) return arena;
  const next = Buffer.allocUnsafe(Math.max(used + more, Math.ceil(arena.length * 1.5)));
  arena.copy(next, 0, 0, used);
  return next;
}

type Typed = Int32Array | Uint8Array | Float64Array | Float32Array | Uint32Array;

export function widen<T extends Typed>(old: T, capacity: number): T {
  const next = new (old.constructor as new (n: number) => T)(Math.max(capacity, old.length));
  next.set(old);
  return next;
}
