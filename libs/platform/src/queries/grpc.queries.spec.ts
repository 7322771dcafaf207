import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Queries, type Conversation, type SearchReply } from '@adseed/contracts';
import { ServiceError } from '@adseed/messaging';
import { Logger } from '@adseed/telemetry';
import { status, type ServiceError as GrpcError } from '@grpc/grpc-js';
import { Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Registry } from 'prom-client';
import { GrpcQueryClient } from './grpc.query-client';
import { GrpcQueryServer } from './grpc.query-server';
import { check, healthClient } from './grpc-health.test-kit';
import { currentDeadline, deadlineOf, HOP_MARGIN_MS, UpstreamTimeoutError, UpstreamUnavailableError } from './query.port';
import { unusedPort } from '@adseed/testing';

const quiet = new Logger({ service: 'test', level: 'error', sink: () => undefined });

@Module({})
class EmptyModule {}

/** A real gRPC server on a free port, behind Nest's gRPC transport, as a service runs it. */
async function startServer(
  register: (server: GrpcQueryServer) => void,
  registry = new Registry(),
): Promise<{ server: GrpcQueryServer; app: INestMicroservice; port: number }> {
  const server = new GrpcQueryServer({ url: '127.0.0.1:0', logger: quiet, registry });
  register(server);
  const app = await NestFactory.createMicroservice(EmptyModule, { strategy: server.createStrategy(), logger: false });
  await app.listen();
  server.started();
  return { server, app, port: server.port! };
}

const clientOf = (port: number, options: { maxAttempts?: number; registry?: Registry } = {}) =>
  new GrpcQueryClient({
    targets: { embedding: `dns:///127.0.0.1:${port}`, retrieval: `dns:///127.0.0.1:${port}`, agent: `dns:///127.0.0.1:${port}` },
    rootTimeoutMs: 30_000,
    logger: quiet,
    ...options,
  });

const reply: SearchReply = {
  hits: [
    { rank: 0, assetId: 'a1', path: 'seeds/acme/red.jpg', score: 0, scores: { clip: 0, caption: 0.71 }, tags: [], belowFloor: false, caption: 'a red bike' },
    {
      rank: 1,
      assetId: 'a2',
      path: 'seeds/acme/blue.jpg',
      score: -0.25,
      scores: {},
      tags: ['blue', 'bike'],
      belowFloor: true,
      licence: 'owned',
      attribution: 'Jo',
    },
  ],
  encoders: { caption: { id: 'minilm', version: '1' } },
  fusion: 'rrf(k=60)',
  floor: { caption: 0.55 },
};

const conversation: Conversation = {
  id: 'c1',
  tenant: 'acme',
  segment: 'cyclists',
  status: 'awaiting-seed',
  subject: { name: 'bike', reason: 'they ride' },
  seeds: [{ rank: 0, assetId: 'a1', path: 'seeds/acme/red.jpg', url: '/v1/assets/content?path=seeds%2Facme%2Fred.jpg', score: 0.8 }],
  seedIndex: 0,
  currentSeed: { rank: 0, assetId: 'a1', path: 'seeds/acme/red.jpg', url: '/v1/assets/content?path=seeds%2Facme%2Fred.jpg', score: 0.8 },
  rejectedSubjects: [],
  messages: [{ role: 'agent', text: 'How about a bike?', at: '2026-12-01T00:00:00.000Z' }],
  createdAt: '2026-12-01T00:00:00.000Z',
  updatedAt: '2026-12-01T00:00:00.000Z',
};

describe(GrpcQueryServer.name, () => {
  let server: GrpcQueryServer;
  let app: INestMicroservice;
  let client: GrpcQueryClient;
  let port: number;
  const registry = new Registry();
  const innerDeadlines: { outer?: number; given?: number; inner?: number }[] = [];
  let flakySearches = 0;
  let conversationCalls = 0;
  let ready = true;

  before(async () => {
    ({ server, app, port } = await startServer((s) => {
      s.setReadiness(async () => ready);
      s.handle(Queries.search, async (request) => {
        if (request.text === 'flaky' && ++flakySearches === 1) throw new ServiceError(503, 'warming_up', 'index still opening');
        if (request.text === 'missing') throw new ServiceError(404, 'not_found', 'no such tenant', [{ field: 'tenant', reason: 'unknown' }]);
        if (request.text === 'crash') throw new Error('disk on fire');
        if (request.text === 'slow') await new Promise((r) => setTimeout(r, 1_500));
        if (request.text === 'nested') {
          // a query made while answering one: it inherits the caller's deadline
          const outer = currentDeadline();
          // what the inner call is given: the query's own 5 s budget is more than what is left
          const given = deadlineOf(Queries.embedTexts, undefined, 30_000);
          await client.call(Queries.embedTexts, { texts: ['x'], encoders: ['caption'] });
          innerDeadlines.push({ outer, given });
        }
        if (request.text === 'broken') return { ...reply, fusion: 42 } as unknown as SearchReply;
        return reply;
      });
      s.handle(Queries.embedTexts, async (request) => {
        if (request.texts[0] === 'x') innerDeadlines.push({ inner: currentDeadline() });
        return { caption: request.texts.map(() => [0.1, -0.5, 0, 1 / 3]), models: { caption: { id: 'minilm', version: '1' } } };
      });
      s.handle(Queries.conversation, async () => {
        conversationCalls += 1;
        throw new ServiceError(503, 'moderation_unavailable', 'try later');
      });
      s.handle(Queries.catalogue, async (command) =>
        command.type === 'list'
          ? { subjects: [] }
          : { gaps: [{ kind: 'segment' as const, text: 'vegans', count: 1, firstSeenAt: 'a', lastSeenAt: 'b' }], nextCursor: 'n1' },
      );
    }, registry));
    client = clientOf(port, { registry });
  });

  after(async () => {
    await client.close();
    await server.close();
    await app.close();
  });

  it('carries typed messages both ways: zeros, false, empty lists and absent fields survive', async () => {
    const got = await client.call(Queries.search, { tenant: 'acme', text: 'bike', k: 2, kind: 'seed', encoders: ['clip', 'caption'] });
    assert.deepEqual(got, reply);
    const vectors = await client.call(Queries.embedTexts, { texts: ['a', 'b'], encoders: ['caption'] });
    assert.equal(vectors.clip, undefined);
    // repeated float: float32 on the wire, as the encoders compute them
    const expected = [0.1, -0.5, 0, 1 / 3].map(Math.fround);
    assert.deepEqual(vectors.caption, [expected, expected]);
    assert.deepEqual(await client.call(Queries.catalogue, { type: 'list', tenant: 'acme', includeDisabled: false }), { subjects: [] });
    assert.deepEqual(await client.call(Queries.catalogue, { type: 'seed-gaps', tenant: 'acme', limit: 5 }), {
      gaps: [{ kind: 'segment', text: 'vegans', count: 1, firstSeenAt: 'a', lastSeenAt: 'b' }],
      nextCursor: 'n1',
    });
  });

  it("keeps a ServiceError's status, code and issues across the call", async () => {
    await assert.rejects(client.call(Queries.search, { tenant: 'acme', text: 'missing', k: 1, kind: 'seed', encoders: ['caption'] }), (e: unknown) => {
      assert.ok(e instanceof ServiceError);
      assert.deepEqual(e.toPayload(), { status: 404, code: 'not_found', message: 'no such tenant', issues: [{ field: 'tenant', reason: 'unknown' }] });
      return true;
    });
    await assert.rejects(
      client.call(Queries.search, { tenant: 'acme', text: 'crash', k: 1, kind: 'seed', encoders: ['caption'] }),
      (e: unknown) => e instanceof ServiceError && e.status === 500 && /Retrieval\/Search failed: disk on fire/.test(e.message),
    );
    // the server checks its own reply before sending it
    await assert.rejects(
      client.call(Queries.search, { tenant: 'acme', text: 'broken', k: 1, kind: 'seed', encoders: ['caption'] }),
      (e: unknown) => e instanceof ServiceError && e.status === 502 && e.code === 'bad_reply',
    );
  });

  it('refuses an invalid request with a 400 naming the field, before it is sent', async () => {
    await assert.rejects(client.call(Queries.search, { tenant: 'Not A Tenant', text: 'bike', k: 1, kind: 'seed', encoders: ['caption'] }), (e: unknown) => {
      assert.ok(e instanceof ServiceError);
      assert.equal(e.status, 400);
      assert.equal(e.issues?.[0].field, 'tenant');
      return true;
    });
  });

  it('a query made inside a handler inherits what is left of the caller deadline, minus a hop margin', async () => {
    innerDeadlines.length = 0;
    const before = Date.now();
    await client.call(Queries.search, { tenant: 'acme', text: 'nested', k: 1, kind: 'seed', encoders: ['caption'] }, { timeoutMs: 2_000 });
    const inner = innerDeadlines.find((d) => d.inner !== undefined)?.inner;
    const { outer, given } = innerDeadlines.find((d) => d.outer !== undefined) ?? {};
    assert.ok(outer !== undefined && given !== undefined && inner !== undefined, 'both handlers saw a deadline');
    assert.ok(outer <= before + 2_000 + 50, 'the outer call carries the 2 s the caller gave it');
    // the inner call is given exactly the caller's deadline minus the hop margin ...
    assert.equal(given, outer - HOP_MARGIN_MS);
    // ... and its server sees that deadline (a relative timeout on the wire: give or take the transit)
    assert.ok(Math.abs(inner - given) < 1_000, `inner server deadline ${inner} vs given ${given}`);
  });

  it('a call past its deadline fails with 504 upstream_timeout and a retry hint', async () => {
    await assert.rejects(
      client.call(Queries.search, { tenant: 'acme', text: 'slow', k: 1, kind: 'seed', encoders: ['caption'] }, { timeoutMs: 200 }),
      (e: unknown) => {
        assert.ok(e instanceof UpstreamTimeoutError);
        assert.equal(e.status, 504);
        assert.equal(e.retryAfterSeconds, 1);
        return true;
      },
    );
  });

  it('retries an idempotent query on UNAVAILABLE, and never a conversation command', async () => {
    flakySearches = 0;
    assert.deepEqual(await client.call(Queries.search, { tenant: 'acme', text: 'flaky', k: 1, kind: 'seed', encoders: ['caption'] }), reply);
    assert.equal(flakySearches, 2, 'answered on the second attempt');
    conversationCalls = 0;
    await assert.rejects(
      client.call(Queries.conversation, { type: 'get', tenant: 'acme', conversationId: 'c1' }),
      (e: unknown) => e instanceof ServiceError && e.status === 503 && e.code === 'moderation_unavailable',
    );
    assert.equal(conversationCalls, 1, 'a command that may have changed state is not sent twice');
  });

  it('with one attempt configured, the UNAVAILABLE reaches the caller', async () => {
    flakySearches = 0;
    const once = clientOf(port, { maxAttempts: 1 });
    try {
      await assert.rejects(
        once.call(Queries.search, { tenant: 'acme', text: 'flaky', k: 1, kind: 'seed', encoders: ['caption'] }),
        (e: unknown) => e instanceof ServiceError && e.status === 503 && e.code === 'warming_up',
      );
      assert.equal(flakySearches, 1);
    } finally {
      await once.close();
    }
  });

  it('counts what it served in its metrics, by method and status code', async () => {
    const text = await registry.metrics();
    assert.match(text, /adseed_grpc_server_handled_total\{method="\/adseed\.retrieval\.v1\.Retrieval\/Search",code="OK"\} [1-9]/);
    assert.match(text, /adseed_grpc_server_handled_total\{method="\/adseed\.retrieval\.v1\.Retrieval\/Search",code="5"\} [1-9]/);
    assert.match(text, /adseed_grpc_client_calls_total\{method="\/adseed\.retrieval\.v1\.Retrieval\/Search",code="404"\} 1/);
  });

  it('serves grpc.health.v1: SERVING while ready, NOT_SERVING when not, NOT_FOUND for a service it does not have', async () => {
    const health = healthClient(port);
    try {
      assert.equal(await check(health, ''), 'SERVING');
      assert.equal(await check(health, 'adseed.retrieval.v1.Retrieval'), 'SERVING');
      ready = false;
      assert.equal(await check(health, ''), 'NOT_SERVING');
      ready = true;
      await assert.rejects(check(health, 'adseed.nothing.v1.Nothing'), (e: GrpcError) => e.code === status.NOT_FOUND);
    } finally {
      health.close();
    }
  });
});

describe(`${GrpcQueryClient.name} without a server`, () => {
  it('answers 503 upstream_unavailable (with a retry hint) when nothing listens', async () => {
    const client = clientOf(await unusedPort());
    try {
      await assert.rejects(
        client.call(Queries.search, { tenant: 'acme', text: 'bike', k: 1, kind: 'seed', encoders: ['caption'] }, { timeoutMs: 5_000 }),
        (e: unknown) => {
          assert.ok(e instanceof UpstreamUnavailableError, String(e));
          assert.equal(e.status, 503);
          assert.equal(e.retryAfterSeconds, 1);
          return true;
        },
      );
    } finally {
      await client.close();
    }
  });

  it('health Watch streams SERVING, then NOT_SERVING when the server closes', async () => {
    const { server, app, port } = await startServer((s) => s.handle(Queries.conversation, async () => conversation));
    const health = healthClient(port);
    const seen: string[] = [];
    try {
      const stream = (health as unknown as { Watch(req: object): NodeJS.EventEmitter & { cancel(): void } }).Watch({ service: '' });
      const closed = new Promise<void>((resolve) => {
        stream.on('data', (m: { status: string }) => {
          seen.push(m.status);
          if (m.status === 'SERVING') void server.close();
        });
        stream.on('end', () => resolve());
        stream.on('error', () => resolve());
      });
      await closed;
      assert.deepEqual(seen, ['SERVING', 'NOT_SERVING']);
    } finally {
      health.close();
      await app.close();
    }
  });
});
