import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MicroBatcher } from './micro-batcher';

describe(MicroBatcher.name, () => {
  it('batches concurrent requests up to the maximum and keeps order', async () => {
    const sizes: number[] = [];
    const batcher = new MicroBatcher<number, number>(
      async (xs) => {
        sizes.push(xs.length);
        return xs.map((x) => x * 10);
      },
      { maxBatch: 4, maxWaitMs: 5 },
    );
    const out = await Promise.all([1, 2, 3, 4, 5, 6].map((x) => batcher.add(x)));
    assert.deepEqual(out, [10, 20, 30, 40, 50, 60]);
    assert.deepEqual(sizes, [4, 2]);
  });

  it('isolates a failing item instead of failing its whole batch', async () => {
    const batcher = new MicroBatcher<number, number>(
      async (xs) => {
        if (xs.includes(13)) throw new Error('bad 13');
        return xs;
      },
      { maxBatch: 8, maxWaitMs: 1 },
    );
    const results = await Promise.allSettled([1, 13, 3].map((x) => batcher.add(x)));
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
  });

  it('with maxInFlight, holds arrivals while the encoder is busy and sends them as one batch', async () => {
    const sizes: number[] = [];
    const gates: (() => void)[] = [];
    const batcher = new MicroBatcher<number, number>(
      async (xs) => {
        sizes.push(xs.length);
        await new Promise<void>((resolve) => gates.push(resolve));
        return xs;
      },
      { maxBatch: 8, maxWaitMs: 1, maxInFlight: 1 },
    );
    const first = batcher.add(1);
    await new Promise((r) => setTimeout(r, 20)); // its wait expires: the batch [1] is running
    assert.deepEqual(sizes, [1]);
    const later = [2, 3, 4].map((x) => batcher.add(x));
    await new Promise((r) => setTimeout(r, 20)); // their wait expires too, but the encoder is busy
    assert.deepEqual(sizes, [1], 'no second batch while one is in flight');
    gates.shift()!();
    assert.equal(await first, 1);
    await new Promise((r) => setTimeout(r, 0));
    assert.deepEqual(sizes, [1, 3], 'the three waiting items go together once the slot frees');
    gates.shift()!();
    assert.deepEqual(await Promise.all(later), [2, 3, 4]);
  });

  it('with maxInFlight, still runs full batches in order as slots free', async () => {
    const seen: number[][] = [];
    const batcher = new MicroBatcher<number, number>(
      async (xs) => {
        seen.push(xs);
        await new Promise((r) => setTimeout(r, 2));
        return xs.map((x) => -x);
      },
      { maxBatch: 2, maxWaitMs: 50, maxInFlight: 2 },
    );
    const out = await Promise.all([1, 2, 3, 4, 5, 6, 7].map((x) => batcher.add(x)));
    assert.deepEqual(out, [-1, -2, -3, -4, -5, -6, -7]);
    assert.deepEqual(seen.flat(), [1, 2, 3, 4, 5, 6, 7], 'every item once, in arrival order');
    assert.ok(seen.every((b) => b.length <= 2));
  });

  it('with maxInFlight 2, overlaps a full batch with a running one but holds a partial one until idle', async () => {
    const sizes: number[] = [];
    const gates: (() => void)[] = [];
    const batcher = new MicroBatcher<number, number>(
      async (xs) => {
        sizes.push(xs.length);
        await new Promise<void>((resolve) => gates.push(resolve));
        return xs;
      },
      { maxBatch: 2, maxWaitMs: 1, maxInFlight: 2 },
    );
    const all = [batcher.add(1)];
    await new Promise((r) => setTimeout(r, 20));
    all.push(batcher.add(2), batcher.add(3)); // a full batch: starts beside the running one
    assert.deepEqual(sizes, [1, 2]);
    all.push(batcher.add(4));
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(sizes, [1, 2], 'the lone 4 waits while batches run');
    gates.shift()!();
    await new Promise((r) => setTimeout(r, 0));
    assert.deepEqual(sizes, [1, 2], 'still one running: a partial batch waits for an idle encoder');
    gates.shift()!();
    await new Promise((r) => setTimeout(r, 0));
    assert.deepEqual(sizes, [1, 2, 1]);
    gates.shift()!();
    assert.deepEqual(await Promise.all(all), [1, 2, 3, 4]);
  });

  describe('with announced items (reserve)', () => {
    const gated = (maxBatch: number) => {
      const sizes: number[] = [];
      const gates: (() => void)[] = [];
      // maxWaitMs far beyond any test: a batch that starts here started by the announced rule.
      const batcher = new MicroBatcher<number, number>(
        async (xs) => {
          sizes.push(xs.length);
          await new Promise<void>((resolve) => gates.push(resolve));
          return xs.map((x) => x * 2);
        },
        { maxBatch, maxWaitMs: 60_000, maxInFlight: 2, announced: true },
      );
      const tick = () => new Promise((r) => setImmediate(r));
      return { batcher, sizes, gates, tick };
    };

    it('starts a partial batch beside a running one once every announced item is in, not before', async () => {
      const { batcher, sizes, gates, tick } = gated(4);
      const full = [1, 2, 3, 4].map(() => batcher.reserve()).map((slot, i) => slot.add(i + 1));
      await tick();
      assert.deepEqual(sizes, [4], 'a full batch starts at once');
      const later = [batcher.reserve(), batcher.reserve(), batcher.reserve()];
      const partial = [later[0].add(5), later[1].add(6)];
      await tick();
      assert.deepEqual(sizes, [4], 'one more is announced: the partial batch waits beside the running one');
      partial.push(later[2].add(7));
      await tick();
      assert.deepEqual(sizes, [4, 3], 'nothing more can come: it starts beside the running batch');
      gates.shift()!();
      gates.shift()!();
      assert.deepEqual(await Promise.all([...full, ...partial]), [2, 4, 6, 8, 10, 12, 14]);
    });

    it('lets a released slot stop holding a batch back', async () => {
      const { batcher, sizes, gates, tick } = gated(2);
      const full = [batcher.reserve().add(1), batcher.reserve().add(2)];
      const [a, b] = [batcher.reserve(), batcher.reserve()];
      const out = a.add(21);
      await tick();
      assert.deepEqual(sizes, [2]);
      b.release();
      b.release(); // idempotent
      await tick();
      assert.deepEqual(sizes, [2, 1]);
      gates.shift()!();
      gates.shift()!();
      assert.deepEqual(await Promise.all([...full, out]), [2, 4, 42]);
    });

    it('on an idle encoder, still waits for company (maxWaitMs) or a full batch', async () => {
      const { batcher, sizes, gates, tick } = gated(3);
      const first = batcher.reserve().add(1);
      await tick();
      assert.deepEqual(sizes, [], 'nothing more is announced, but the encoder is idle: it waits');
      const rest = [batcher.reserve().add(2), batcher.reserve().add(3)];
      await tick();
      assert.deepEqual(sizes, [3]);
      gates.shift()!();
      assert.deepEqual(await Promise.all([first, ...rest]), [2, 4, 6]);
    });

    it('still caps batches at maxBatch and in-flight batches at maxInFlight', async () => {
      const { batcher, sizes, gates, tick } = gated(2);
      const slots = [1, 2, 3, 4, 5].map(() => batcher.reserve());
      const all = slots.map((slot, i) => slot.add(i + 1));
      await tick();
      assert.deepEqual(sizes, [2, 2], 'two full batches, the fifth item waits for a free slot');
      gates.shift()!();
      await tick();
      assert.deepEqual(sizes, [2, 2, 1]);
      gates.shift()!();
      gates.shift()!();
      assert.deepEqual(await Promise.all(all), [2, 4, 6, 8, 10]);
    });

    it('takes one item per slot', () => {
      const { batcher } = gated(4);
      const slot = batcher.reserve();
      void slot.add(1);
      assert.throws(() => slot.add(2), /one item/);
    });
  });
});
