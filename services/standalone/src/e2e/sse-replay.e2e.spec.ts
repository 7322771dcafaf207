import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Conversation, Job } from '@adseed/contracts';
import { startTestApp, type TestApp } from './harness';
import { library } from './job-fixtures';
import { SseClient } from './sse-client';

/** Polls until `predicate` holds; the error says what was awaited and what there was. */
async function until(what: () => string, predicate: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * The event streams' EventSource semantics, end to end in embedded mode: `retry:`, an `id:` on
 * every event, and a reconnect with `Last-Event-ID` that gets what changed meanwhile and nothing
 * twice. (faults.integration.spec restarts a gateway under open streams on the real servers.)
 */
describe('event streams resume from Last-Event-ID (embedded)', { timeout: 300_000 }, () => {
  let app: TestApp;
  let brandPath: string;
  let seedPaths: string[];
  const clients: SseClient[] = [];
  const open = (path: string, options: ConstructorParameters<typeof SseClient>[1] = {}) => {
    const client = new SseClient(`${app.url}${path}`, { reconnect: false, ...options });
    clients.push(client);
    return client;
  };

  before(async () => {
    app = await startTestApp();
    ({ brandPath, seedPaths } = await library(app));
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await app?.whenIdle();
    await app?.stop();
  });

  it('a conversation stream: a client that comes back gets the newest state once, then the changes', async () => {
    const created = await app.api('/v1/conversations', { method: 'POST', json: { segment: 'outdoor adventurers' } });
    assert.equal(created.status, 201, await created.clone().text());
    const { id } = (await created.json()) as Conversation;
    const path = `/v1/conversations/${id}/events`;
    const reply = async (text: string): Promise<Conversation> => {
      const res = await app.api(`/v1/conversations/${id}/messages`, { method: 'POST', json: { text } });
      assert.equal(res.status, 200, await res.clone().text());
      return (await res.json()) as Conversation;
    };

    const first = open(path);
    await until(
      () => 'the first state',
      () => first.events.length >= 1,
    );
    assert.equal(first.retrySeen, true, 'the stream opens with retry:');
    const seenId = first.events[0].id;
    assert.ok(seenId, 'every event has an id');
    await first.close();

    // Two changes while the client is away.
    await reply('not quite');
    const newest = await reply('something else please');
    const resumed = open(path, { lastEventId: seenId });
    await until(
      () => 'the state made while the client was away',
      () => resumed.events.length >= 1,
    );
    const [caughtUp] = resumed.states<Conversation>();
    assert.equal(caughtUp.messages.length, newest.messages.length, 'the newest state, not the one the client had');
    assert.deepEqual(caughtUp.messages, newest.messages);
    const next = await reply('not quite');
    await until(
      () => 'the next change',
      () => resumed.events.length >= 2,
    );
    assert.deepEqual(
      resumed.states<Conversation>().map((c) => c.messages.length),
      [newest.messages.length, next.messages.length],
    );
    const ids = resumed.events.map((e) => e.id!);
    assert.notEqual(ids[0], seenId);
    assert.equal(new Set([seenId, ...ids]).size, 3, 'no id twice');

    // A client that is up to date gets nothing until the next change: its first event is that change.
    const upToDate = open(path, { lastEventId: ids[1] });
    await until(
      () => 'the connection',
      () => upToDate.connections === 1,
    );
    const later = await reply('something else please');
    await until(
      () => 'the change after the reconnect',
      () => upToDate.events.length >= 1,
    );
    assert.equal(upToDate.states<Conversation>()[0].messages.length, later.messages.length, 'the state it had was not sent again');
    assert.deepEqual(upToDate.failures, []);
  });

  it('a job stream: a client that saw the job finish is told 204 (stop reconnecting); one that missed the end gets the final state once', async () => {
    const res = await app.api('/v1/jobs', { method: 'POST', json: { brandPath, seedPaths: seedPaths.slice(0, 2), formats: ['1:1'], variants: 1 } });
    assert.equal(res.status, 202, await res.clone().text());
    const { job } = (await res.json()) as { job: Job };
    const path = `/v1/jobs/${job.id}/events`;

    const watcher = open(path);
    await watcher.stopped; // the server ends the stream when the job ends
    const states = watcher.states<Job>();
    const final = states[states.length - 1];
    assert.equal(final.status, 'done');
    const ids = watcher.events.map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, `every state once: ${ids.join(' ')}`);
    assert.equal(ids[ids.length - 1], `${final.progress.total}-2`);

    const finished = open(path, { lastEventId: ids[ids.length - 1], reconnect: true });
    await finished.stopped;
    assert.equal(finished.noContent, true, 'a 204 for a client that has the final state');
    assert.deepEqual(finished.events, []);

    const late = open(path, { lastEventId: ids[0] === `${final.progress.total}-2` ? '0-0' : ids[0] });
    await late.stopped;
    assert.deepEqual(
      late.states<Job>().map((j) => [j.status, j.progress.done]),
      [['done', final.progress.total]],
    );
  });
});
