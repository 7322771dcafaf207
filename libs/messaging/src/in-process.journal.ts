import {
  closeSync,
  existsSync,
  fsync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  promises as fsp,
  readdirSync,
  readFileSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { Logger } from '@adseed/telemetry';
import type { Headers } from './event-bus.port';

/** One message as the broker keeps it; `offset` is its position in its partition. */
export interface StoredMessage {
  offset: number;
  key: string;
  value: string;
  headers: Headers;
  timestamp: number;
}

/**
 * When appended bytes are forced to the disk. Every append is written to the segment file
 * before `publish` returns, so a killed process (kill -9, OOM) loses nothing whatever the policy;
 * the policy only decides how much a power cut or kernel crash can take:
 * - `interval` (default): one fsync per dirty segment every `fsyncIntervalMs`, off the event loop;
 * - `always`: fsync inside every append (nothing lost, slowest);
 * - `never`: the operating system writes back when it likes.
 */
export type FsyncPolicy = 'always' | 'interval' | 'never';

export interface JournalOptions {
  /** The journal's own directory (the one-process mode uses `<data dir>/bus`). */
  dir: string;
  fsync?: FsyncPolicy;
  /** Also how often committed offsets are written (and so, at most, what a crash re-delivers). */
  fsyncIntervalMs?: number;
  /** A segment file is closed and a new one started past this size. */
  segmentBytes?: number;
  /** Per partition, for topics no consumer group reads (dead letters): oldest segments go past this. */
  unreadRetentionBytes?: number;
  /** A group that has had no member for this long stops holding back retention (Kafka's offsets.retention). */
  groupRetentionMs?: number;
  logger?: Logger;
}

/** A durable consumer group's committed positions, one per partition. */
export interface GroupSnapshot {
  topic: string;
  group: string;
  offsets: number[];
  /** Whether the group has a member now (its offsets stay relevant). */
  active: boolean;
}

export interface LoadedPartition {
  /** Offset of `messages[0]`. */
  base: number;
  /** `undefined` where a damaged frame in a closed segment left a gap. */
  messages: (StoredMessage | undefined)[];
}

export interface LoadedJournal {
  topics: Map<string, LoadedPartition[]>;
  groups: { topic: string; group: string; offsets: number[] }[];
}

interface Segment {
  base: number;
  path: string;
  /** Open while the segment is active, or sealed and not yet synced. */
  fd?: number;
  bytes: number;
  /** The offset after its last message. */
  next: number;
  dirty: boolean;
}

interface PartitionFiles {
  dir: string;
  /** Oldest first; the last one is the active segment. */
  segments: Segment[];
}

const HEADER = 8; // u32 payload length, u32 crc32 of the payload (both big-endian)
const MAX_FRAME = 256 * 1024 * 1024;
const OFFSETS_FILE = 'offsets.json';
const segmentName = (base: number) => `${String(base).padStart(20, '0')}.seg`;

/** Encodes one message as a length + crc framed record. */
export function encodeFrame(message: StoredMessage): Buffer {
  const payload = Buffer.from(JSON.stringify({ o: message.offset, k: message.key, v: message.value, h: message.headers, t: message.timestamp }), 'utf8');
  const frame = Buffer.allocUnsafe(HEADER + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame.writeUInt32BE(crc32(payload), 4);
  payload.copy(frame, HEADER);
  return frame;
}

/**
 * Reads the frames of one segment up to the first damaged one. `validBytes` is where the good
 * prefix ends; `damage` says why reading stopped early (a torn tail after a crash, usually).
 */
export function decodeFrames(buffer: Buffer, base: number): { messages: StoredMessage[]; validBytes: number; damage?: string } {
  const messages: StoredMessage[] = [];
  let at = 0;
  while (at < buffer.length) {
    if (buffer.length - at < HEADER) return { messages, validBytes: at, damage: `${buffer.length - at} bytes of a frame header` };
    const length = buffer.readUInt32BE(at);
    if (length > MAX_FRAME) return { messages, validBytes: at, damage: `impossible frame length ${length}` };
    if (buffer.length - at - HEADER < length) return { messages, validBytes: at, damage: `frame of ${length} bytes cut at ${buffer.length - at - HEADER}` };
    const payload = buffer.subarray(at + HEADER, at + HEADER + length);
    if (crc32(payload) !== buffer.readUInt32BE(at + 4)) return { messages, validBytes: at, damage: 'checksum mismatch' };
    let record: { o: number; k: string; v: string; h: Headers; t: number };
    try {
      record = JSON.parse(payload.toString('utf8')) as typeof record;
    } catch {
      return { messages, validBytes: at, damage: 'unreadable frame' };
    }
    const expected = base + messages.length;
    if (record.o !== expected) return { messages, validBytes: at, damage: `offset ${record.o} where ${expected} was expected` };
    messages.push({ offset: record.o, key: record.k, value: record.v, headers: record.h, timestamp: record.t });
    at += HEADER + length;
  }
  return { messages, validBytes: at };
}

/**
 * The in-process broker's write-ahead journal: one directory per topic-partition holding
 * append-only segment files of framed messages, plus every durable group's committed offsets.
 * Segments every durable group has read past are deleted, so the journal stays as small as
 * what is still unconsumed (plus at most one segment per partition).
 */
export class BrokerJournal {
  readonly dir: string;
  private readonly policy: FsyncPolicy;
  private readonly intervalMs: number;
  private readonly segmentBytes: number;
  private readonly rollConsumedBytes: number;
  private readonly unreadRetentionBytes: number;
  private readonly groupRetentionMs: number;
  private readonly logger: Logger;
  private readonly files = new Map<string, PartitionFiles[]>();
  private readonly lastActive = new Map<string, number>();
  private snapshot: () => GroupSnapshot[] = () => [];
  private offsetsDirty = false;
  private lastOffsets?: string;
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private state: 'open' | 'closed' | 'halted' = 'open';
  private warnedClosed = false;

  constructor(options: JournalOptions) {
    this.dir = options.dir;
    this.policy = options.fsync ?? 'interval';
    this.intervalMs = options.fsyncIntervalMs ?? 5;
    this.segmentBytes = options.segmentBytes ?? 4 * 1024 * 1024;
    this.rollConsumedBytes = Math.min(this.segmentBytes, 1024 * 1024);
    this.unreadRetentionBytes = options.unreadRetentionBytes ?? 4 * 1024 * 1024;
    this.groupRetentionMs = options.groupRetentionMs ?? 7 * 24 * 3600_000;
    this.logger = options.logger ?? new Logger({ service: 'bus-journal' });
    mkdirSync(join(this.dir, 'topics'), { recursive: true });
  }

  /** The broker tells the journal where to read its durable groups' offsets from. */
  attach(snapshot: () => GroupSnapshot[]): void {
    this.snapshot = snapshot;
  }

  /** Reads every retained message and committed offset; repairs a torn tail. Call once, first. */
  load(): LoadedJournal {
    const topics = new Map<string, LoadedPartition[]>();
    for (const topic of readdirSync(join(this.dir, 'topics'))) {
      const topicDir = join(this.dir, 'topics', topic);
      const meta = this.readJson<{ partitions: number }>(join(topicDir, 'topic.json'));
      if (!meta || !Number.isInteger(meta.partitions) || meta.partitions < 1) {
        this.logger.warn('journal topic without a readable topic.json skipped', { topic, dir: topicDir });
        continue;
      }
      const partitions: LoadedPartition[] = [];
      const files: PartitionFiles[] = [];
      for (let p = 0; p < meta.partitions; p++) {
        const { loaded, partitionFiles } = this.loadPartition(topic, p, join(topicDir, String(p)));
        partitions.push(loaded);
        files.push(partitionFiles);
      }
      topics.set(topic, partitions);
      this.files.set(topic, files);
    }
    return { topics, groups: this.loadGroups() };
  }

  /** Writes one message to its partition's active segment before returning. */
  append(topic: string, partitionCount: number, partition: number, message: StoredMessage): void {
    if (this.state !== 'open') {
      if (!this.warnedClosed) this.logger.warn('message appended after the journal closed: kept in memory only', { topic, key: message.key });
      this.warnedClosed = true;
      return;
    }
    const files = this.partitionFiles(topic, partitionCount, partition);
    const frame = encodeFrame(message);
    let active = files.segments.at(-1);
    if (!active || active.fd === undefined || (active.bytes > 0 && active.bytes + frame.length > this.segmentBytes)) {
      if (active) this.seal(active);
      active = this.openSegment(files.dir, message.offset);
      files.segments.push(active);
    }
    for (let written = 0; written < frame.length;) written += writeSync(active.fd!, frame, written, frame.length - written);
    active.bytes += frame.length;
    active.next = message.offset + 1;
    if (this.policy === 'always') fsyncSync(active.fd!);
    else active.dirty = this.policy === 'interval';
    this.schedule();
  }

  /** A durable group committed: its offsets go to disk with the next flush. */
  committed(): void {
    if (this.state !== 'open') return;
    this.offsetsDirty = true;
    this.schedule();
  }

  /** Runs a scheduled flush now, and resolves when no flush is running (nothing is left dirty). */
  async settle(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
      await this.runFlush();
    }
    await this.flushing?.catch(() => undefined);
  }

  /** Syncs what is pending, writes the offsets, and applies retention now. */
  async flush(): Promise<void> {
    this.offsetsDirty = true;
    await this.runFlush();
  }

  async close(): Promise<void> {
    if (this.state !== 'open') return;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
    this.state = 'closed';
    for (const segment of this.allSegments()) this.closeFd(segment, this.policy !== 'never');
  }

  /** Stops at once without syncing or writing anything more, as a crash would (tests). */
  halt(): void {
    if (this.state !== 'open') return;
    this.state = 'halted';
    clearTimeout(this.timer);
    for (const segment of this.allSegments()) this.closeFd(segment, false);
  }

  /** Bytes on disk per topic (inspection and tests). */
  sizeOf(topic: string): { segments: number; bytes: number } {
    const segments = (this.files.get(topic) ?? []).flatMap((f) => f.segments);
    return { segments: segments.length, bytes: segments.reduce((sum, s) => sum + s.bytes, 0) };
  }

  private schedule(): void {
    if (this.timer || this.state !== 'open') return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.runFlush().catch((error: Error) => this.logger.error('journal flush failed', { error }));
    }, this.intervalMs);
    this.timer.unref();
  }

  /** One flush at a time; a request during a flush runs another right after it. */
  private runFlush(): Promise<void> {
    const run = async (): Promise<void> => {
      await this.syncSegments();
      if (this.offsetsDirty && this.state === 'open') {
        this.offsetsDirty = false;
        const groups = this.snapshot();
        await this.writeOffsets(groups);
        if (this.state === 'open') this.applyRetention(groups);
      }
    };
    const next = (this.flushing ?? Promise.resolve()).catch(() => undefined).then(run);
    this.flushing = next;
    return next;
  }

  private async syncSegments(): Promise<void> {
    const pending = this.allSegments().filter((s) => s.dirty && s.fd !== undefined);
    for (const segment of pending) segment.dirty = false;
    await Promise.all(
      pending.map(
        (segment) =>
          new Promise<void>((resolve) => {
            const fd = segment.fd!;
            fsync(fd, (error) => {
              if (error && this.state === 'open') this.logger.error('journal fsync failed', { path: segment.path, error });
              resolve();
            });
          }),
      ),
    );
    // A sealed segment keeps its descriptor only until it is synced.
    for (const files of this.allPartitionFiles()) for (const segment of files.segments.slice(0, -1)) if (!segment.dirty) this.closeFd(segment, false);
  }

  private async writeOffsets(groups: GroupSnapshot[]): Promise<void> {
    const now = Date.now();
    const records = groups.map((g) => {
      const id = groupId(g.topic, g.group);
      // Hour precision is plenty against a retention of days, and keeps an unchanged file unchanged.
      const seen = this.lastActive.get(id);
      if (seen === undefined || (g.active && now - seen > 3600_000)) this.lastActive.set(id, now);
      return { topic: g.topic, group: g.group, offsets: g.offsets, lastActive: this.lastActive.get(id) };
    });
    const body = JSON.stringify({ version: 1, groups: records });
    if (body === this.lastOffsets) return;
    this.lastOffsets = body;
    const file = join(this.dir, OFFSETS_FILE);
    const tmp = `${file}.tmp`;
    // Off the event loop: the handlers keep running while the file is written and synced.
    const handle = await fsp.open(tmp, 'w');
    try {
      await handle.writeFile(body);
      if (this.policy !== 'never') await handle.sync();
    } finally {
      await handle.close();
    }
    if (this.state === 'open') await fsp.rename(tmp, file);
  }

  /**
   * Deletes segments every durable group of the topic has committed past (using the offsets
   * just written, so a crash never leaves a committed offset pointing into a deleted segment
   * that was not consumed). A topic no group reads keeps its newest `unreadRetentionBytes`.
   */
  private applyRetention(groups: GroupSnapshot[]): void {
    for (const [topic, partitions] of this.files) {
      const readers = groups.filter((g) => g.topic === topic);
      partitions.forEach((files, p) => {
        if (readers.length > 0) {
          const floor = Math.min(...readers.map((g) => g.offsets[p] ?? 0));
          while (files.segments.length > 1 && files.segments[0].next <= floor) this.remove(files.segments.shift()!);
          const active = files.segments.at(-1);
          if (files.segments.length === 1 && active && active.next <= floor && active.bytes >= this.rollConsumedBytes) {
            // Fully consumed and big enough to be worth it: start afresh at the next offset.
            files.segments.push(this.openSegment(files.dir, active.next));
            this.remove(files.segments.shift()!);
          }
        } else {
          let total = files.segments.reduce((sum, s) => sum + s.bytes, 0);
          while (files.segments.length > 1 && total > this.unreadRetentionBytes) {
            const oldest = files.segments.shift()!;
            total -= oldest.bytes;
            this.remove(oldest);
          }
        }
      });
    }
  }

  private remove(segment: Segment): void {
    this.closeFd(segment, false);
    try {
      unlinkSync(segment.path);
    } catch (error) {
      this.logger.warn('could not delete a consumed journal segment', { path: segment.path, error });
    }
  }

  private seal(segment: Segment): void {
    if (this.policy !== 'interval') this.closeFd(segment, false);
    // 'interval': the next flush syncs it, then closes it.
  }

  private closeFd(segment: Segment, sync: boolean): void {
    if (segment.fd === undefined) return;
    try {
      if (sync) fsyncSync(segment.fd);
      closeSync(segment.fd);
    } catch {
      // already closed by a halt; nothing more to do
    }
    segment.fd = undefined;
    segment.dirty = false;
  }

  private openSegment(dir: string, base: number): Segment {
    const path = join(dir, segmentName(base));
    const fd = openSync(path, 'a');
    return { base, path, fd, bytes: 0, next: base, dirty: false };
  }

  private partitionFiles(topic: string, partitionCount: number, partition: number): PartitionFiles {
    let partitions = this.files.get(topic);
    if (!partitions) {
      const topicDir = join(this.dir, 'topics', topic);
      mkdirSync(topicDir, { recursive: true });
      const meta = join(topicDir, 'topic.json');
      if (!existsSync(meta)) writeFileSync(meta, JSON.stringify({ partitions: partitionCount }));
      partitions = Array.from({ length: partitionCount }, (_, p) => ({ dir: join(topicDir, String(p)), segments: [] }));
      this.files.set(topic, partitions);
    }
    const files = partitions[partition];
    if (files.segments.length === 0) mkdirSync(files.dir, { recursive: true });
    return files;
  }

  private loadPartition(topic: string, partition: number, dir: string): { loaded: LoadedPartition; partitionFiles: PartitionFiles } {
    const names = existsSync(dir)
      ? readdirSync(dir)
          .filter((n) => /^\d{20}\.seg$/.test(n))
          .sort()
      : [];
    const segments: Segment[] = [];
    const messages: (StoredMessage | undefined)[] = [];
    let base: number | undefined;
    names.forEach((name, i) => {
      const path = join(dir, name);
      const segmentBase = Number(name.slice(0, 20));
      const buffer = readFileSync(path);
      const read = decodeFrames(buffer, segmentBase);
      const last = i === names.length - 1;
      if (read.damage) {
        if (last) {
          this.logger.warn('journal: torn tail ignored (the last write before a crash)', {
            topic,
            partition,
            path,
            damage: read.damage,
            bytesDropped: buffer.length - read.validBytes,
          });
          const fd = openSync(path, 'r+');
          ftruncateSync(fd, read.validBytes);
          closeSync(fd);
        } else {
          this.logger.error('journal: damaged segment, the rest of it is skipped', {
            topic,
            partition,
            path,
            damage: read.damage,
            bytesDropped: buffer.length - read.validBytes,
          });
        }
      }
      base ??= segmentBase;
      // A gap (a damaged closed segment) becomes empty slots, so offsets keep their meaning.
      while (base + messages.length < segmentBase) messages.push(undefined);
      messages.push(...read.messages);
      segments.push({ base: segmentBase, path, bytes: read.validBytes, next: segmentBase + read.messages.length, dirty: false });
    });
    const active = segments.at(-1);
    if (active) active.fd = openSync(active.path, 'a');
    return { loaded: { base: base ?? 0, messages }, partitionFiles: { dir, segments } };
  }

  private loadGroups(): { topic: string; group: string; offsets: number[] }[] {
    const file = join(this.dir, OFFSETS_FILE);
    if (!existsSync(file)) return [];
    const saved = this.readJson<{ groups: { topic: string; group: string; offsets: number[]; lastActive?: number }[] }>(file);
    if (!saved || !Array.isArray(saved.groups)) {
      this.logger.warn('journal: committed offsets unreadable; every group starts at its oldest retained message', { file });
      return [];
    }
    const now = Date.now();
    const kept = [];
    for (const g of saved.groups) {
      const lastActive = g.lastActive ?? now;
      if (now - lastActive > this.groupRetentionMs) {
        this.logger.info('journal: consumer group expired (no member for too long)', {
          topic: g.topic,
          group: g.group,
          lastActive: new Date(lastActive).toISOString(),
        });
        continue;
      }
      this.lastActive.set(groupId(g.topic, g.group), lastActive);
      kept.push({ topic: g.topic, group: g.group, offsets: g.offsets });
    }
    return kept;
  }

  private readJson<T>(file: string): T | undefined {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as T;
    } catch {
      return undefined;
    }
  }

  private allPartitionFiles(): PartitionFiles[] {
    return [...this.files.values()].flat();
  }

  private allSegments(): Segment[] {
    return this.allPartitionFiles().flatMap((f) => f.segments);
  }
}

const groupId = (topic: string, group: string) => `${topic}\u0000${group}`;
