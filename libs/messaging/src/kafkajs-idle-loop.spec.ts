import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fixKafkajsIdleLoop } from './kafkajs-idle-loop';

/** kafkajs's own request queue class (the one every broker connection uses). */
interface Queue {
  pending: { sendRequest?: () => void }[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  canSendSocketRequestImmediately(): boolean;
  destroy(): void;
}
const load = createRequire(require.resolve('kafkajs'));
const RequestQueue = load('./src/network/requestQueue/index.js') as new (options: object) => Queue;
const logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const queue = () => new RequestQueue({ maxInFlightRequests: 1, requestTimeout: 30_000, enforceRequestTimeout: false, clientId: 't', broker: 'b', logger });

/** How often checkPendingRequests runs within `ms` after one call (as after a response). */
async function checksWithin(q: Queue, ms: number): Promise<number> {
  let calls = 0;
  const check = q.checkPendingRequests.bind(q);
  q.checkPendingRequests = () => {
    calls++;
    check();
  };
  q.checkPendingRequests();
  await delay(ms);
  return calls;
}

describe("kafkajs 2.2.4's idle timer loop (tulios/kafkajs#1556), fixed by the bus", () => {
  it('applies to the pinned kafkajs', () => {
    assert.equal(fixKafkajsIdleLoop(), true);
  });

  it('an idle connection schedules nothing after a response (was a 1 ms timer forever)', async () => {
    fixKafkajsIdleLoop();
    const q = queue();
    try {
      const calls = await checksWithin(q, 100);
      assert.equal(calls, 1, 'checked once, then nothing scheduled');
      assert.equal(q.throttleCheckTimeoutId, null);
    } finally {
      q.destroy(); // stops the loop when there is one
    }
  });

  it('a throttled connection with requests waiting still checks them when the throttle ends', async () => {
    fixKafkajsIdleLoop();
    const q = queue();
    let sent = 0;
    q.throttledUntil = Date.now() + 30;
    // a stand-in for a queued socket request: kafkajs calls its send() once the queue may send
    q.pending.push({ sendRequest: () => sent++ });
    (q as unknown as { sendSocketRequest: (r: { sendRequest: () => void }) => void }).sendSocketRequest = (r) => r.sendRequest();
    q.checkPendingRequests();
    assert.notEqual(q.throttleCheckTimeoutId, null, 'a check is scheduled for the end of the throttle');
    assert.equal(sent, 0);
    await delay(80);
    assert.equal(sent, 1, 'sent once the throttle ended');
    assert.equal(q.pending.length, 0);
    q.destroy();
  });
});
