import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OffsetCommitter, type CommittedOffset } from './kafka.commits';

/** A coordinator whose OffsetCommit requests the test answers (or refuses) by hand. */
function manualCoordinator() {
  const requests: { offsets: CommittedOffset[]; ack: () => void; refuse: (e: Error) => void }[] = [];
  const refusals: { error: unknown; offsets: CommittedOffset[] }[] = [];
  const commit = (offsets: CommittedOffset[]) => new Promise<void>((resolve, reject) => requests.push({ offsets, ack: resolve, refuse: reject }));
  const refused = (error: unknown, offsets: CommittedOffset[]) => void refusals.push({ error, offsets });
  const until = async (n: number) => {
    for (let i = 0; i < 200 && requests.length < n; i++) await new Promise((r) => setTimeout(r, 1));
    assert.equal(requests.length, n, `${n} request(s) sent`);
  };
  return { requests, refusals, commit, refused, until };
}

const byPartition = (offsets: CommittedOffset[]) => offsets.map((o) => `${o.topic}/${o.partition}@${o.offset}`).sort();

describe('OffsetCommitter: the offsets a consumer has done, committed together', () => {
  it('gathers the marks of one interval into one request, one past the highest offset done per partition', async () => {
    const c = manualCoordinator();
    const commits = new OffsetCommitter(c.commit, c.refused, 20);
    commits.done('t', 0, '4');
    commits.done('t', 1, '9');
    commits.done('t', 0, '5');
    commits.done('u', 0, '2');
    assert.equal(c.requests.length, 0, 'nothing is sent before the interval is over');
    assert.equal(commits.pending, 3);
    await c.until(1);
    assert.deepEqual(byPartition(c.requests[0].offsets), ['t/0@6', 't/1@10', 'u/0@3']);
    c.requests[0].ack();
    await commits.flush();
    assert.equal(commits.pending, 0);
  });

  it('never moves a partition back: a lower offset marked after a higher one is not sent', async () => {
    const c = manualCoordinator();
    const commits = new OffsetCommitter(c.commit, c.refused, 0);
    commits.done('t', 0, '7');
    await c.until(1);
    commits.done('t', 0, '8');
    commits.done('t', 0, '3');
    c.requests[0].ack();
    await c.until(2);
    assert.deepEqual(byPartition(c.requests[1].offsets), ['t/0@9']);
    c.requests[1].ack();
    await commits.flush();
  });

  it('keeps one request in flight: the marks made meanwhile leave together once it is answered', async () => {
    const c = manualCoordinator();
    const commits = new OffsetCommitter(c.commit, c.refused, 0);
    commits.done('t', 0, '0');
    await c.until(1);
    for (let offset = 1; offset <= 5; offset++) commits.done('t', offset % 2, String(offset));
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(c.requests.length, 1, 'nothing else is sent while a request is in flight');
    c.requests[0].ack();
    await c.until(2);
    assert.deepEqual(byPartition(c.requests[1].offsets), ['t/0@5', 't/1@6']);
    c.requests[1].ack();
    await commits.flush();
  });

  it('flush() sends what is marked without waiting out the interval, and waits for the answer', async () => {
    const c = manualCoordinator();
    const commits = new OffsetCommitter(c.commit, c.refused, 60_000);
    commits.done('t', 2, '41');
    let flushed = false;
    const flushing = commits.flush().then(() => (flushed = true));
    await c.until(1);
    assert.deepEqual(byPartition(c.requests[0].offsets), ['t/2@42']);
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(flushed, false, 'flush waits for the coordinator');
    c.requests[0].ack();
    await flushing;
    assert.equal(commits.pending, 0);
  });

  it('reports a refused commit with its offsets and goes on with the next marks', async () => {
    const c = manualCoordinator();
    const commits = new OffsetCommitter(c.commit, c.refused, 0);
    commits.done('t', 0, '1');
    await c.until(1);
    commits.done('t', 0, '2');
    const error = new Error('The coordinator is not aware of this member');
    c.requests[0].refuse(error);
    await c.until(2);
    assert.deepEqual(c.refusals, [{ error, offsets: [{ topic: 't', partition: 0, offset: '2' }] }]);
    assert.deepEqual(byPartition(c.requests[1].offsets), ['t/0@3']);
    c.requests[1].ack();
    await commits.flush();
    assert.equal(c.refusals.length, 1);
  });
});
