/**
 * A fix for kafkajs 2.2.4's idle timer loop (tulios/kafkajs#1556, #1704; the fix of PR #1667 was
 * never released, and kafkajs has had no release since 2.2.4). After every response, each
 * connection's request queue schedules its next pending-request check at `throttledUntil - now`,
 * which is negative when nothing is throttled: a 1 ms timer that schedules itself again forever,
 * pending requests or not. Measured here, a process holding one kafkajs admin connection and
 * nothing else used 6–9 % of a core over 10 idle seconds, 0.6 % with the fix; each service of the
 * deployment idled at 4–7 % of a core, all of them together at ~30 % of one of the two cores.
 *
 * The fix is the one proposed upstream: with nothing pending and no throttle in effect there is
 * nothing to check, so nothing is scheduled. A request queued later schedules its own check
 * (`push` calls this again with one pending), and a throttled queue keeps kafkajs's behaviour.
 * Applied once, to the kafkajs version the workspace pins; another version is left alone with a
 * warning, so an upgrade is a deliberate decision (check whether upstream fixed it, then delete this).
 */
import { createRequire } from 'node:module';

export const PATCHED_KAFKAJS_VERSION = '2.2.4';

interface RequestQueueLike {
  pending: unknown[];
  throttledUntil: number;
  scheduleCheckPendingRequests(): void;
}

let applied: boolean | undefined;

/** Applies the fix to the kafkajs that `kafkajs` resolves to here; true when applied (now or before). */
export function fixKafkajsIdleLoop(warn: (message: string) => void = () => undefined): boolean {
  if (applied !== undefined) return applied;
  const load = createRequire(require.resolve('kafkajs'));
  const { version } = load('./package.json') as { version: string };
  if (version !== PATCHED_KAFKAJS_VERSION) {
    warn(`kafkajs ${version} is not ${PATCHED_KAFKAJS_VERSION}: its idle timer loop fix was not applied (libs/messaging/src/kafkajs-idle-loop.ts)`);
    return (applied = false);
  }
  const RequestQueue = load('./src/network/requestQueue/index.js') as { prototype: RequestQueueLike };
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with the queue as `this`
  const original = RequestQueue.prototype.scheduleCheckPendingRequests;
  RequestQueue.prototype.scheduleCheckPendingRequests = function (this: RequestQueueLike) {
    if (this.pending.length === 0 && !(this.throttledUntil > Date.now())) return;
    original.call(this);
  };
  return (applied = true);
}
