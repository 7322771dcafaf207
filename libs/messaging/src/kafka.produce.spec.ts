import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProduceCoalescer, type ProduceRequest } from './kafka.produce';

const record = (key: string, value = key) => ({ key, value, headers: {} });

/** A producer whose requests the test acknowledges (or fails) by hand. */
function manualProducer() {
  const requests: { request: ProduceRequest; ack: () => void; fail: (e: Error) => void }[] = [];
  const produce = (request: ProduceRequest) => new Promise<void>((resolve, reject) => requests.push({ request, ack: resolve, fail: reject }));
  const until = async (n: number) => {
    for (let i = 0; i < 100 && requests.length < n; i++) await new Promise((r) => setImmediate(r));
    assert.equal(requests.length, n, `${n} request(s) sent`);
  };
  return { requests, produce, until };
}

const keysOf = (request: ProduceRequest) => request.map((t) => `${t.topic}:${t.messages.map((m) => m.key).join(',')}`);

describe('ProduceCoalescer: one produce request in flight, the records published meanwhile in the next', () => {
  it('sends a burst of one turn in one request, grouped by topic in publish order', async () => {
    const p = manualProducer();
    const c = new ProduceCoalescer(p.produce);
    const sent = [c.send('a', record('1')), c.send('b', record('2')), c.send('a', record('3'))];
    await p.until(1);
    assert.deepEqual(keysOf(p.requests[0].request), ['a:1,3', 'b:2']);
    p.requests[0].ack();
    await Promise.all(sent);
  });

  it('holds what is published during a request for the next one, and resolves each record with its own request', async () => {
    const p = manualProducer();
    const c = new ProduceCoalescer(p.produce);
    let firstDone = false;
    const first = c.send('t', record('1')).then(() => (firstDone = true));
    await p.until(1);
    let laterDone = 0;
    const later = ['2', '3', '4'].map((k) => c.send('t', record(k)).then(() => laterDone++));
    await new Promise((r) => setImmediate(r));
    assert.equal(p.requests.length, 1, 'nothing else is sent while a request is in flight');
    assert.equal(c.waiting, 3);
    p.requests[0].ack();
    await first;
    assert.equal(firstDone, true);
    await p.until(2);
    assert.equal(laterDone, 0, 'the later records wait for their own request');
    assert.deepEqual(keysOf(p.requests[1].request), ['t:2,3,4']);
    p.requests[1].ack();
    await Promise.all(later);
    assert.equal(laterDone, 3);
  });

  it('fails the records of a failed request with its error, and goes on with the next ones', async () => {
    const p = manualProducer();
    const c = new ProduceCoalescer(p.produce);
    const first = c.send('t', record('1'));
    await p.until(1);
    const second = c.send('t', record('2'));
    p.requests[0].fail(new Error('broker gone'));
    await assert.rejects(first, /broker gone/);
    await p.until(2);
    p.requests[1].ack();
    await second;
  });

  it('splits a request at its byte and record limits, and sends a record larger than the limit alone', async () => {
    const p = manualProducer();
    const c = new ProduceCoalescer(p.produce, { maxRequestBytes: 10, maxRequestRecords: 3 });
    const sent = [
      c.send('t', record('a', '1234')), // 5 bytes
      c.send('t', record('b', '1234')), // 10
      c.send('t', record('c', '1')), // would be 12: next request
      c.send('t', record('d', '1')),
      c.send('t', record('e', '1')),
      c.send('t', record('f', '1')), // fourth record: next request
      c.send('t', record('g', 'x'.repeat(50))), // alone, over the limit
    ];
    const expected = [['t:a,b'], ['t:c,d,e'], ['t:f'], ['t:g']];
    for (let i = 0; i < expected.length; i++) {
      await p.until(i + 1);
      assert.deepEqual(keysOf(p.requests[i].request), expected[i]);
      p.requests[i].ack();
    }
    await Promise.all(sent);
  });

  it('flush() waits for every record sent so far', async () => {
    const p = manualProducer();
    const c = new ProduceCoalescer(p.produce);
    void c.send('t', record('1'));
    let flushed = false;
    const flushing = c.flush().then(() => (flushed = true));
    await p.until(1);
    void c.send('t', record('2'));
    p.requests[0].ack();
    await p.until(2);
    assert.equal(flushed, false);
    p.requests[1].ack();
    await flushing;
    assert.equal(flushed, true);
  });
});
