import { createHash } from 'node:crypto';
import type { RawDelivery } from './delivery';
import type { Headers } from './event-bus.port';

export interface StoredMessage {
  offset: number;
  key: string;
  value: string;
  headers: Headers;
  timestamp: number;
}

interface Partition {
  /** Offset of log[0]; the prefix every group has committed is dropped. */
  base: number;
  log: StoredMessage[];
}

interface Member {
  fromBeginning: boolean;
  deliver(message: RawDelivery): Promise<void>;
}

interface Group {
  topic: string;
  name: string;
  offsets: number[];
  members: Member[];
  pumping: boolean[];
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
  private readonly topics = new Map<string, Partition[]>();
  private readonly groups = new Map<string, Group>();
  private busy = 0;
  private idleWaiters: (() => void)[] = [];

  createTopic(name: string, partitions = 1): void {
    if (this.topics.has(name)) return;
    this.topics.set(name, Array.from({ length: Math.max(1, partitions) }, () => ({ base: 0, log: [] })));
  }

  append(topic: string, message: { key: string; value: string; headers: Headers }): { partition: number; offset: number } {
    this.createTopic(topic);
    const partitions = this.topics.get(topic)!;
    const partition = partitionFor(message.key, partitions.length);
    const p = partitions[partition];
    const offset = p.base + p.log.length;
    p.log.push({ offset, key: message.key, value: message.value, headers: { ...message.headers }, timestamp: Date.now() });
    for (const group of this.groups.values()) if (group.topic === topic) this.schedule(group, partition);
    return { partition, offset };
  }

  /** Joins a consumer group; returns a function that leaves it. */
  join(topic: string, groupName: string, member: Member): () => void {
    this.createTopic(topic);
    const partitions = this.topics.get(topic)!;
    const id = `${topic}\u0000${groupName}`;
    let group = this.groups.get(id);
    if (!group) {
      group = {
        topic,
        name: groupName,
        offsets: partitions.map((p) => (member.fromBeginning ? p.base : p.base + p.log.length)),
        members: [],
        pumping: partitions.map(() => false),
      };
      this.groups.set(id, group);
    }
    group.members.push(member);
    partitions.forEach((_, i) => this.schedule(group!, i));
    return () => {
      group!.members = group!.members.filter((m) => m !== member);
    };
  }

  /** Every message of a topic, in partition then offset order (for tests and inspection). */
  read(topic: string): (StoredMessage & { partition: number })[] {
    return (this.topics.get(topic) ?? []).flatMap((p, partition) => p.log.map((m) => ({ ...m, partition })));
  }

  topicNames(): string[] {
    return [...this.topics.keys()];
  }

  /** Messages appended to a topic but not yet committed by a group. */
  lag(topic: string, groupName: string): number {
    const group = this.groups.get(`${topic}\u0000${groupName}`);
    const partitions = this.topics.get(topic) ?? [];
    return partitions.reduce((sum, p, i) => sum + (p.base + p.log.length - (group?.offsets[i] ?? p.base)), 0);
  }

  /** Resolves once no group has a message left to handle and no handler is running. */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private isIdle(): boolean {
    if (this.busy > 0) return false;
    for (const group of this.groups.values()) {
      if (group.members.length === 0) continue;
      const partitions = this.topics.get(group.topic)!;
      if (partitions.some((p, i) => group.offsets[i] < p.base + p.log.length)) return false;
    }
    return true;
  }

  private schedule(group: Group, partition: number): void {
    if (group.pumping[partition] || group.members.length === 0) return;
    group.pumping[partition] = true;
    this.busy++;
    // Deliver on a later tick, as a broker would: a publisher never runs its consumers' code.
    setImmediate(() => void this.pump(group, partition));
  }

  private async pump(group: Group, partition: number): Promise<void> {
    const p = this.topics.get(group.topic)![partition];
    try {
      while (group.members.length > 0 && group.offsets[partition] < p.base + p.log.length) {
        const member = group.members[partition % group.members.length];
        const message = p.log[group.offsets[partition] - p.base];
        await member.deliver({ topic: group.topic, partition, ...message });
        group.offsets[partition] = message.offset + 1; // commit only after the work is done
      }
    } finally {
      group.pumping[partition] = false;
      this.busy--;
      this.compact(group.topic, partition);
      if (this.isIdle()) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const resolve of waiters) resolve();
      }
    }
  }

  /** Drops the prefix of a partition that every group has committed (bounded memory). */
  private compact(topic: string, partition: number): void {
    const p = this.topics.get(topic)![partition];
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
