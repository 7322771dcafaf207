import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MicroBatcher } from './micro-batcher';

describe(MicroBatcher.name, () => {
  it('batches concurrent requests up to the maximum and keeps order', async () => {
    const sizes: number[] = [];
    const batcher = new MicroBatcher<number, number>(async (xs) => {
      sizes.push(xs.length);
      return xs.map((x) => x * 10);
    }, { maxBatch: 4, maxWaitMs: 5 });
    const out = await Promise.all([1, 2, 3, 4, 5, 6].map((x) => batcher.add(x)));
    assert.deepEqual(out, [10, 20, 30, 40, 50, 60]);
    assert.deepEqual(sizes, [4, 2]);
  });

  it('isolates a failing item instead of failing its whole batch', async () => {
    const batcher = new MicroBatcher<number, number>(async (xs) => {
      if (xs.includes(13)) throw new Error('bad 13');
      return xs;
    }, { maxBatch: 8, maxWaitMs: 1 });
    const results = await Promise.allSettled([1, 13, 3].map((x) => batcher.add(x)));
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
  });
});
