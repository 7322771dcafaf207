import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TokenBucketStorage } from './token-bucket.storage';

describe(TokenBucketStorage.name, () => {
  // limit 4 (the burst), ttl 2,000 ms to refill from empty: one token every 500 ms.
  const hit = (s: TokenBucketStorage, key = 'k') => s.increment(key, 2_000, 4);

  it('lets the burst through, refuses the next call, and gives one token back per ttl/limit', async () => {
    let now = 0;
    const storage = new TokenBucketStorage(() => now);
    for (let i = 0; i < 4; i++) assert.equal((await hit(storage)).isBlocked, false, `call ${i + 1}`);
    const refused = await hit(storage);
    assert.equal(refused.isBlocked, true);
    assert.equal(refused.timeToBlockExpire, 1, 'Retry-After rounds 500 ms up to a whole second');
    now = 499;
    assert.equal((await hit(storage)).isBlocked, true);
    now = 500;
    assert.equal((await hit(storage)).isBlocked, false, 'one token after 500 ms');
    assert.equal((await hit(storage)).isBlocked, true, 'and only one');
    storage.onApplicationShutdown();
  });

  it('keys are independent, and full buckets are forgotten', async () => {
    let now = 0;
    const storage = new TokenBucketStorage(() => now);
    for (let i = 0; i < 5; i++) await hit(storage, 'a');
    assert.equal((await hit(storage, 'b')).isBlocked, false);
    assert.equal(storage.size, 2);
    now = 1_000; // 'b' is full again, 'a' has 2 of 4
    storage.forgetFull();
    assert.equal(storage.size, 1);
    now = 10_000;
    storage.forgetFull();
    assert.equal(storage.size, 0);
    storage.onApplicationShutdown();
  });

  it('a long wait never banks more than the burst', async () => {
    let now = 0;
    const storage = new TokenBucketStorage(() => now);
    await hit(storage);
    now = 3_600_000;
    const results = [];
    for (let i = 0; i < 5; i++) results.push((await hit(storage)).isBlocked);
    assert.deepEqual(results, [false, false, false, false, true]);
    storage.onApplicationShutdown();
  });
});
