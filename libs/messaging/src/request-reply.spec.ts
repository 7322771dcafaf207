import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineRoute } from '@adseed/contracts';
import { z } from 'zod';
import { H, ServiceError } from './event-bus.port';
import { PendingReplies } from './request-reply';

const Route = defineRoute('test.math.double-requested.v1', z.object({ n: z.number() }), z.object({ doubled: z.number() }));

describe(PendingReplies.name, () => {
  it('an error reply that arrives before the caller awaits is not an unhandled rejection, and still reaches the caller', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const replies = new PendingReplies();
      const { correlationId, reply } = replies.open(Route, 5_000);
      // The responder answers while the requester is still waiting for its publish to be acknowledged.
      replies.settle({ [H.correlationId]: correlationId }, JSON.stringify({ ok: false, error: { status: 400, code: 'negative', message: 'n must be >= 0' } }));
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(unhandled, []);
      await assert.rejects(reply, (e: unknown) => e instanceof ServiceError && e.status === 400);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
