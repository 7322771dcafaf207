import { createHash } from 'node:crypto';
import { Logger } from '@adseed/telemetry';
import type { RawDelivery } from './delivery';
import type { Headers } from './event-bus.port';
import { BrokerJournal, type GroupSnapshot, type JournalOptions, type StoredMessage } from './in-process.journal';

export type { StoredMessage } from './in-process.journal';

interface Partition {
  /** Offset of log[0]; the prefix every group has committed is dropped. */
  base: number;
  /** `undefined`: a message a damaged journal segment lost (skipped on delivery). */
  log: (StoredMessage | undefined)[];
}

interface Topic {
  partitions: Partition[];
  /** Request/reply traffic is not: a reply to a process that died is meaningless. */
  journalled: boolean;
}

interface Member {
  fromBeginning: boolean;
  /**
   * Most messages this member handles at once, across its partitions (see
   * `SubscribeOptions.concurrency`). Unset: one message per partition at a time.
   */
  concurrency?: number;
  deliver(message: RawDelivery): Promise<void>;
}

/** A group's progress in one partition beyond its committed offset. */
interface Cursor {
  /** The next offset to hand out (at or past the committed one). */
  next: number;
  /** Offsets being handled, with their keys: a key in here holds back its later messages. */
  inFlight: Map<number, string>;
  /** Offsets handled but not committable yet (an earlier one is still in flight). */
  done: Set<number>;
}

interface Group {
  topic: string;
  name: string;
  /** Committed: every message before it in the partition is done with. */
  offsets: number[];
  members: Member[];
  cursors: Cursor[];
  /** A dispatch is scheduled for a later tick. */
  scheduled: boolean;
  /**
   * Durable groups (every group that starts from the beginning) have their offsets journalled
   * and resume from them after a restart. A group that only wants new messages (a live view such
   * as a server-sent-events hub, a reply inbox) lives only while it has members.
   */
  durable: boolean;
}

export interface InProcessBrokerOptions {
  /** Journal every message and committed offset on disk; without it the broker is memory only. */
  journal?: JournalOptions;
  logger?: Logger;
}

/** Kafka's default partitioner idea: the same key always lands on the same partition. */
export function partitionFor(key: string, partitions: number): number {
  return createHash('md5').update(key).digest().readUInt32BE(0) % partitions;
}

/**
 * The embedded message broker: topics of partitioned logs, consumer groups with committed
 * offsets, per-partition ordering, at-least-once delivery. Shared by every service in the
 * one-process mode; each service talks to it through its own `InProcessEventBus`.
 */
export class InProcessBroker {
  private readonly topics = new Map<string, Topic>();
  private readonly groups = new Map<string, Group>();
  private readonly journal?: BrokerJournal;
  /** Which schema validated a message's value before it was appended (in memory only; see `RawDelivery.validatedBy`). */
  private readonly validated = new WeakMap<StoredMessage, unknown>();
  private busy = 0;
  private halted = false;
  private idleWaiters: (() => void)[] = [];

  /**
   * With a journal, reads what the journal retained: every message not yet committed by every
   * durable group is delivered again once that group rejoins (at-least-once across restarts).
   */
  constructor(options: InProcessBrokerOptions = {}) {
    if (!options.journal) return;
    this.journal = new BrokerJournal({ logger: options.logger, ...options.journal });
    const loaded = this.journal.load();
    for (const [name, partitions] of loaded.topics) {
      this.topics.set(name, { journalled: true, partitions: partitions.map((p) => ({ base: p.base, log: p.messages })) });
    }
    for (const saved of loaded.groups) {
      const topic = this.topics.get(saved.topic);
      if (!topic) continue;
      const offsets = topic.partitions.map((p, i) => Math.min(Math.max(saved.offsets[i] ?? p.base, p.base), p.base + p.log.length));
      this.groups.set(groupKey(saved.topic, saved.group), {
        topic: saved.topic,
        name: saved.group,
        offsets,
        members: [],
        cursors: offsets.map(newCursor),
        scheduled: false,
        durable: true,
      });
    }
    this.journal.attach(() => this.durableGroups());
    const pending = [...this.groups.values()].reduce((sum, g) => sum + this.lag(g.topic, g.name), 0);
    (options.logger ?? new Logger({ service: 'bus' })).info('event journal open', {
      dir: this.journal.dir,
      topics: loaded.topics.size,
      groups: this.groups.size,
      undelivered: pending,
    });
  }

  /** `journal: false` marks a topic as request/reply traffic, never written to the journal. */
  createTopic(name: string, partitions = 1, options: { journal?: boolean } = {}): void {
    const existing = this.topics.get(name);
    if (existing) {
      if (options.journal === false) existing.journalled = false;
      return;
    }
    this.topics.set(name, {
      journalled: options.journal ?? true,
      partitions: Array.from({ length: Math.max(1, partitions) }, () => ({ base: 0, log: [] })),
    });
  }

  append(topic: string, message: { key: string; value: string; headers: Headers; validatedBy?: unknown }): { partition: number; offset: number } {
    this.createTopic(topic);
    const t = this.topics.get(topic)!;
    const partition = partitionFor(message.key, t.partitions.length);
    const p = t.partitions[partition];
    const offset = p.base + p.log.length;
    const stored = { offset, key: message.key, value: message.value, headers: { ...message.headers }, timestamp: Date.now() };
    // On disk before anyone can act on it: a consumer's commit never gets ahead of the journal.
    if (t.journalled) this.journal?.append(topic, t.partitions.length, partition, stored);
    if (message.validatedBy !== undefined) this.validated.set(stored, message.validatedBy);
    p.log.push(stored);
    for (const group of this.groups.values()) if (group.topic === topic) this.schedule(group);
    return { partition, offset };
  }

  /** Writes pending journal bytes and committed offsets now, and applies retention. */
  async flush(): Promise<void> {
    await this.journal?.flush();
  }

  /** Flushes and closes the journal; members should have left first. */
  async close(): Promise<void> {
    await this.journal?.close();
  }

  /** Stops everything at once, flushing nothing: what a crash does (durability tests). */
  halt(): void {
    this.halted = true;
    this.journal?.halt();
  }

  /** Journal footprint of a topic (inspection and tests). */
  journalSize(topic: string): { segments: number; bytes: number } | undefined {
    return this.journal?.sizeOf(topic);
  }

  /** Joins a consumer group; returns a function that leaves it. */
  join(topic: string, groupName: string, member: Member): () => void {
    this.createTopic(topic);
    const partitions = this.topics.get(topic)!.partitions;
    const id = groupKey(topic, groupName);
    let group = this.groups.get(id);
    if (!group) {
      const offsets = partitions.map((p) => (member.fromBeginning ? p.base : p.base + p.log.length));
      group = {
        topic,
        name: groupName,
        offsets,
        members: [],
        cursors: offsets.map(newCursor),
        scheduled: false,
        durable: member.fromBeginning,
      };
      this.groups.set(id, group);
      if (group.durable && this.topics.get(topic)!.journalled) this.journal?.committed();
    }
    if (member.concurrency !== undefined && (!Number.isInteger(member.concurrency) || member.concurrency < 1)) {
      throw new Error(`InProcessBroker: concurrency must be a positive integer, got ${member.concurrency}`);
    }
    group.members.push(member);
    this.schedule(group);
    return () => {
      group.members = group.members.filter((m) => m !== member);
      if (!group.durable && group.members.length === 0 && this.groups.get(id) === group) this.groups.delete(id);
    };
  }

  /** Every message of a topic, in partition then offset order (for tests and inspection). */
  read(topic: string): (StoredMessage & { partition: number })[] {
    return (this.topics.get(topic)?.partitions ?? []).flatMap((p, partition) => p.log.flatMap((m) => (m ? [{ ...m, partition }] : [])));
  }

  topicNames(): string[] {
    return [...this.topics.keys()];
  }

  /** Messages appended to a topic but not yet committed by a group. */
  lag(topic: string, groupName: string): number {
    const group = this.groups.get(groupKey(topic, groupName));
    const partitions = this.topics.get(topic)?.partitions ?? [];
    return partitions.reduce((sum, p, i) => sum + (p.base + p.log.length - (group?.offsets[i] ?? p.base)), 0);
  }

  /**
   * Resolves once no group has a message left to handle and no handler is running, and the
   * journal has written what that left pending.
   */
  async whenIdle(): Promise<void> {
    if (!this.isIdle()) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    await this.journal?.settle();
  }

  private isIdle(): boolean {
    if (this.busy > 0) return false;
    for (const group of this.groups.values()) {
      if (group.members.length === 0) continue;
      const partitions = this.topics.get(group.topic)!.partitions;
      if (partitions.some((p, i) => group.offsets[i] < p.base + p.log.length)) return false;
    }
    return true;
  }

  private schedule(group: Group): void {
    if (group.scheduled || group.members.length === 0 || this.halted) return;
    group.scheduled = true;
    this.busy++;
    // Deliver on a later tick, as a broker would: a publisher never runs its consumers' code.
    setImmediate(() => {
      group.scheduled = false;
      this.busy--;
      this.dispatch(group);
      this.notifyIfIdle();
    });
  }

  /**
   * Hands out every message the group's members may take now. Per partition, messages go out in
   * offset order; one whose key is still being handled waits for it (and holds back the rest of
   * its partition), so a key's messages are handled one after another, in order. A member
   * without `concurrency` takes one message per partition at a time; with it, up to that many
   * across its partitions, so a consumer that batches (the encoders) sees enough at once to fill
   * its batches even when the keys spread unevenly over the partitions.
   */
  private dispatch(group: Group): void {
    const topic = this.topics.get(group.topic)!;
    const inFlight = new Map<Member, number>();
    group.cursors.forEach((cursor, i) => {
      if (cursor.inFlight.size === 0) return;
      const member = group.members[i % group.members.length];
      if (member) inFlight.set(member, (inFlight.get(member) ?? 0) + cursor.inFlight.size);
    });
    let progressed = true;
    // Round-robin over the partitions, one message per partition per round, so a member's
    // window is shared fairly instead of going to the first partitions' backlog.
    while (progressed && !this.halted && group.members.length > 0) {
      progressed = false;
      for (let i = 0; i < topic.partitions.length; i++) {
        const p = topic.partitions[i];
        const cursor = (group.cursors[i] ??= newCursor(group.offsets[i]));
        if (cursor.next < group.offsets[i]) cursor.next = group.offsets[i];
        if (cursor.next >= p.base + p.log.length) continue;
        const member = group.members[i % group.members.length];
        const taken = inFlight.get(member) ?? 0;
        if (member.concurrency === undefined ? cursor.inFlight.size > 0 : taken >= member.concurrency) continue;
        if (cursor.done.has(cursor.next) || cursor.inFlight.has(cursor.next)) {
          cursor.next++; // handed out before a failed delivery rewound the cursor
          progressed = true;
          continue;
        }
        const message = p.log[cursor.next - p.base];
        if (!message) {
          // A message a damaged journal segment lost: nothing to deliver, only to step over.
          cursor.done.add(cursor.next++);
          this.commit(group, i);
          progressed = true;
          continue;
        }
        if ([...cursor.inFlight.values()].includes(message.key)) continue;
        cursor.next++;
        cursor.inFlight.set(message.offset, message.key);
        inFlight.set(member, taken + 1);
        progressed = true;
        this.busy++;
        let delivered: Promise<void>;
        try {
          const validatedBy = this.validated.get(message);
          delivered = member.deliver({ topic: group.topic, partition: i, ...message, ...(validatedBy !== undefined ? { validatedBy } : {}) });
        } catch (error) {
          delivered = Promise.reject(error);
        }
        delivered.then(
          () => this.finished(group, i, message.offset, true),
          () => this.finished(group, i, message.offset, false),
        );
      }
    }
  }

  /** A delivery ended: commit what is now contiguous, and hand out what it held back. */
  private finished(group: Group, partition: number, offset: number, ok: boolean): void {
    const cursor = group.cursors[partition];
    cursor.inFlight.delete(offset);
    this.busy--;
    if (!this.halted) {
      // Delivery never rejects (`deliver` in delivery.ts); if a member's did anyway, the message
      // stays uncommitted and is handed out again on the partition's next append or join.
      if (ok) cursor.done.add(offset);
      else cursor.next = Math.min(cursor.next, offset);
      this.commit(group, partition);
      if (ok) this.dispatch(group);
    }
    this.notifyIfIdle();
  }

  /** Moves the committed offset over every done message directly after it (commit only after the work is done). */
  private commit(group: Group, partition: number): void {
    const cursor = group.cursors[partition];
    const before = group.offsets[partition];
    while (cursor.done.delete(group.offsets[partition])) group.offsets[partition]++;
    if (group.offsets[partition] === before) return;
    if (group.durable && this.topics.get(group.topic)!.journalled) this.journal?.committed();
    this.compact(group.topic, partition);
  }

  private notifyIfIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  private durableGroups(): GroupSnapshot[] {
    return [...this.groups.values()]
      .filter((g) => g.durable && this.topics.get(g.topic)?.journalled)
      .map((g) => ({ topic: g.topic, group: g.name, offsets: [...g.offsets], active: g.members.length > 0 }));
  }

  /** Drops the prefix of a partition that every group has committed (bounded memory). */
  private compact(topic: string, partition: number): void {
    const p = this.topics.get(topic)!.partitions[partition];
    const groups = [...this.groups.values()].filter((g) => g.topic === topic);
    if (groups.length === 0 || p.log.length < 1_000) return;
    const committed = Math.min(...groups.map((g) => g.offsets[partition]));
    const drop = committed - p.base;
    if (drop > 500) {
      p.log.splice(0, drop);
      p.base = committed;
    }
  }
}

const groupKey = (topic: string, group: string) => `${topic}\u0000${group}`;
const newCursor = (offset: number): Cursor => ({ next: offset, inFlight: new Map(), done: new Set() });
