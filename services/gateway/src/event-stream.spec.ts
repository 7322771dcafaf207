import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { Conversation, Job } from '@adseed/contracts';
import express from 'express';
import { conversationPosition, EventStreams, formatEventId, jobPosition, parseEventId, SSE_RETRY_MS, StateReplay, untilListening } from './event-stream';
import { ApiError } from './http-errors';

const T0 = Date.parse('2026-12-01T10:00:00.000Z');

const conversation = (messages: number, at: number): Conversation => ({
  id: 'c1',
  tenant: 'acme',
  segment: 'dog owners',
  status: 'awaiting-seed',
  seeds: [],
  seedIndex: 0,
  rejectedSubjects: [],
  messages: Array.from({ length: messages }, (_, i) => ({ role: i % 2 ? 'user' : 'agent', text: `m${i}`, at: new Date(T0).toISOString() })),
  createdAt: new Date(T0).toISOString(),
  updatedAt: new Date(at).toISOString(),
});

const job = (done: number, failed: number, status: Job['status']): Job => ({
  id: 'j0000000001-aaaaaaaa',
  status,
  progress: { done, failed, total: 8 },
  brandPath: 'brands/acme/p.png',
  formats: ['1:1'],
  variants: 1,
  ads: [],
  failures: [],
  createdAt: new Date(T0).toISOString(),
  updatedAt: new Date(T0).toISOString(),
  expiresAt: new Date(T0 + 86_400_000).toISOString(),
});

describe('event ids', () => {
  it('round-trips a position, and reads anything else as no position', () => {
    assert.deepEqual(parseEventId(formatEventId([12, T0])), [12, T0]);
    assert.deepEqual(parseEventId(' 3-2 '), [3, 2]);
    for (const raw of [undefined, '', '2026-12-01T10:00:00.000Z', '3', '3-', '-3-2', '3-2-1', 'a-b', '1'.repeat(16) + '-1']) {
      assert.equal(parseEventId(raw), undefined, String(raw));
    }
  });

  it("orders a conversation's states by message count, then by time", () => {
    const ids = [conversation(1, T0), conversation(3, T0 + 5), conversation(3, T0 + 9), conversation(4, T0 + 1)].map((c) =>
      parseEventId(formatEventId(conversationPosition(c)))!,
    );
    const sorted = [...ids].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    assert.deepEqual(ids, sorted);
  });

  it("orders a job's states by outcomes, then by stage; every finished status is one stage", () => {
    assert.deepEqual(jobPosition(job(0, 0, 'queued')), [0, 0]);
    assert.deepEqual(jobPosition(job(2, 1, 'running')), [3, 1]);
    assert.deepEqual(jobPosition(job(2, 1, 'cancelled')), [3, 2]);
    assert.deepEqual(jobPosition(job(7, 1, 'done')), [8, 2]);
  });
});

describe(StateReplay.name, () => {
  it('sends each state once, in order, whatever order and how often they are offered', () => {
    const replay = new StateReplay(conversationPosition);
    const states = [
      conversation(1, T0),
      conversation(3, T0 + 10),
      conversation(1, T0),
      conversation(3, T0 + 10),
      conversation(2, T0 + 5),
      conversation(5, T0 + 20),
    ];
    const sent = states.map((c) => replay.offer(c));
    assert.deepEqual(sent, [formatEventId([1, T0]), formatEventId([3, T0 + 10]), undefined, undefined, undefined, formatEventId([5, T0 + 20])]);
  });

  it('after a reconnect with Last-Event-ID, sends only what is newer than that id', () => {
    const first = new StateReplay(conversationPosition);
    const seen = first.offer(conversation(3, T0 + 10))!;
    // The client was away while two changes were made; the stored state is the newest.
    const resumed = new StateReplay(conversationPosition, seen);
    assert.equal(resumed.has(conversation(3, T0 + 10)), true, 'the state the client has');
    assert.equal(resumed.offer(conversation(3, T0 + 10)), undefined, 'is not sent again');
    assert.equal(resumed.offer(conversation(5, T0 + 30)), formatEventId([5, T0 + 30]), 'the newer stored state is');
    assert.equal(resumed.offer(conversation(4, T0 + 20)), undefined, 'a late live update older than it is dropped');
    assert.equal(resumed.offer(conversation(6, T0 + 40)), formatEventId([6, T0 + 40]), 'and the next change goes out');
  });

  it('treats a Last-Event-ID it cannot read as none: the client gets the state', () => {
    const replay = new StateReplay(jobPosition, '2026-12-01T10:00:00.000Z');
    assert.equal(replay.has(job(0, 0, 'queued')), false);
    assert.equal(replay.offer(job(0, 0, 'queued')), '0-0');
  });

  it('knows a finished job the client has seen finish', () => {
    const replay = new StateReplay(jobPosition, formatEventId(jobPosition(job(7, 1, 'done'))));
    assert.equal(replay.has(job(7, 1, 'done')), true);
    assert.equal(replay.has(job(7, 0, 'running')), true, 'an older state');
    assert.equal(new StateReplay(jobPosition, formatEventId(jobPosition(job(7, 0, 'running')))).has(job(7, 1, 'done')), false);
  });
});

describe(EventStreams.name, () => {
  let streams = new EventStreams();
  const ended: string[] = [];
  let server: Server;
  let url: string;

  before(async () => {
    const app = express();
    app.get('/events/:name', (req, res) => {
      const start = () => streams.start(res, () => ended.push(req.params.name)).send('1-5', { hello: req.params.name });
      // `late`: the stream starts only after the client has gone, as when a handler still waited.
      if (req.params.name === 'late') req.socket.once('close', () => setImmediate(start));
      else start();
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });

  it('opens with retry:, sends id: on each event, and ends every open stream on shutdown', async () => {
    const responses = await Promise.all(['a', 'b'].map((name) => fetch(`${url}/events/${name}`)));
    for (const res of responses) {
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'text/event-stream');
    }
    // Both handlers have run once their headers are here; the streams are still open.
    assert.equal(streams.size, 2);
    streams.beforeApplicationShutdown();
    const bodies = await Promise.all(responses.map((res) => res.text())); // resolves only because the server ended them
    assert.deepEqual(
      bodies,
      ['a', 'b'].map((name) => `retry: ${SSE_RETRY_MS}\n\nevent: state\nid: 1-5\ndata: {"hello":"${name}"}\n\n`),
    );
    assert.deepEqual(ended.sort(), ['a', 'b'], 'each stream stopped listening');
    assert.equal(streams.size, 0);

    // Stopping: a new stream is refused (503, the client reconnects elsewhere or later), and one
    // whose handler was already past that check ends at once.
    assert.throws(
      () => streams.accepting(),
      (e: unknown) => e instanceof ApiError && e.status === 503 && e.code === 'events_unavailable',
    );
    const late = await fetch(`${url}/events/d`);
    assert.equal(await late.text(), `retry: ${SSE_RETRY_MS}\n\n`, 'ended before any state');
    assert.ok(ended.includes('d'));
    assert.equal(streams.size, 0);
    streams = new EventStreams(); // a running replica again, for the tests below
    assert.doesNotThrow(() => streams.accepting());
  });

  it('ends at once a stream whose client left before it started', async () => {
    const abort = new AbortController();
    const request = fetch(`${url}/events/late`, { signal: abort.signal }).catch(() => undefined);
    for (let i = 0; !ended.includes('late') && i < 200; i++) {
      if (i === 5) abort.abort();
      await new Promise((r) => setTimeout(r, 25));
    }
    await request;
    assert.ok(ended.includes('late'), 'it stopped listening');
    assert.equal(streams.size, 0);
  });

  it('forgets a stream its client closed', async () => {
    const abort = new AbortController();
    const res = await fetch(`${url}/events/c`, { signal: abort.signal });
    const reader = res.body!.getReader();
    await reader.read();
    abort.abort();
    await reader.closed.catch(() => undefined);
    for (let i = 0; streams.size > 0 && i < 200; i++) await new Promise((r) => setTimeout(r, 25));
    assert.equal(streams.size, 0);
    assert.ok(ended.includes('c'));
  });
});

describe(untilListening.name, () => {
  it('waits for the subscription to be assigned; without one, or past the bound, it is a 503 the client can retry', async () => {
    let assign: () => void = () => undefined;
    const assigned = new Promise<void>((resolve) => (assign = resolve));
    const waiting = untilListening({ close: async () => undefined, assigned }, 'topic.v1', 60_000);
    assign();
    await waiting;
    await untilListening({ close: async () => undefined }, 'topic.v1'); // a bus that delivers at once
    await assert.rejects(untilListening(undefined, 'topic.v1'), (e: unknown) => e instanceof ApiError && e.status === 503 && e.code === 'events_unavailable');
    const never = new Promise<void>(() => undefined);
    await assert.rejects(
      untilListening({ close: async () => undefined, assigned: never }, 'topic.v1', 10),
      (e: unknown) => e instanceof ApiError && e.status === 503 && /within 10 ms/.test(e.message),
    );
  });
});
