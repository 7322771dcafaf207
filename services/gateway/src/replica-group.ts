import { hostname } from 'node:os';

const taken = new Map<string, number>();

/**
 * The consumer group of a per-replica live view (single-ad outcomes, the SSE hubs): every gateway
 * replica must see every message, so each is its own group, subscribed `ephemeral` (deleted when
 * the replica stops) and starting at new messages.
 *
 * Named after the replica rather than drawn at random: `<prefix>-<host name>-<pid>` (host name =
 * the pod's name in Kubernetes; pid tells apart processes sharing a host), `-<n>` added for a
 * second view with the same prefix in one process (tests run several gateways at once). So a
 * graceful stop deletes the group; a container that crashed and restarts in its pod has the same
 * name and rejoins its own group — it resumes after what it had handled, once the broker has
 * dropped the dead member (its 30 s session) — instead of leaving a group behind on every start.
 * Only a pod that vanishes without stopping leaves one empty group, which Kafka drops after
 * `offsets.retention.minutes`.
 */
export function replicaGroup(prefix: string, replica: { host: string; pid: number } = { host: hostname(), pid: process.pid }): string {
  const base = `${prefix}-${replica.host.replace(/[^A-Za-z0-9._-]/g, '-')}-${replica.pid}`;
  const n = (taken.get(base) ?? 0) + 1;
  taken.set(base, n);
  return n === 1 ? base : `${base}-${n}`;
}
