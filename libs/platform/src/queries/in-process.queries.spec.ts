import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Queries, type SearchReply } from '@adseed/contracts';
import { ServiceError } from '@adseed/messaging';
import { InProcessQueries } from './in-process.queries';
import { currentDeadline, HOP_MARGIN_MS, UpstreamTimeoutError, UpstreamUnavailableError } from './query.port';

const reply: SearchReply = { hits: [], encoders: {}, fusion: 'rrf(k=60)', floor: {} };
const search = { tenant: 'acme', text: 'bike', k: 1, kind: 'seed' as const, encoders: ['caption' as const] };

describe(InProcessQueries.name, () => {
  it('calls the registered handler with the validated request (defaults applied) and validates the reply', async () => {
    const queries = new InProcessQueries();
    const seen: unknown[] = [];
    queries.handle(Queries.search, async (request) => {
      seen.push(request);
      return reply;
    });
    assert.deepEqual(await queries.call(Queries.search, search), reply);
    assert.deepEqual(seen, [search]);
    queries.handle(Queries.getAsset, async () => ({ asset: { assetId: 'x' } }) as never);
    await assert.rejects(
      queries.call(Queries.getAsset, { tenant: 'acme', assetId: 'x' }),
      (e: unknown) => e instanceof ServiceError && e.status === 502 && e.code === 'bad_reply',
    );
  });

  it("answers the same errors as gRPC: 400 with issues, the handler's ServiceError, 500 for a crash, 503 without a server", async () => {
    const queries = new InProcessQueries();
    await assert.rejects(queries.call(Queries.search, search), UpstreamUnavailableError);
    queries.handle(Queries.search, async (request) => {
      if (request.text === 'crash') throw new Error('boom');
      throw new ServiceError(404, 'not_found', 'nothing', [{ field: 'tenant', reason: 'unknown' }]);
    });
    await assert.rejects(
      queries.call(Queries.search, { ...search, tenant: 'NOPE' }),
      (e: unknown) => e instanceof ServiceError && e.status === 400 && e.issues?.[0].field === 'tenant',
    );
    await assert.rejects(
      queries.call(Queries.search, search),
      (e: unknown) => e instanceof ServiceError && e.status === 404 && e.issues?.[0].reason === 'unknown',
    );
    await assert.rejects(
      queries.call(Queries.search, { ...search, text: 'crash' }),
      (e: unknown) => e instanceof ServiceError && e.status === 500 && /boom/.test(e.message),
    );
  });

  it('propagates the deadline to queries made inside a handler, and times out with 504', async () => {
    const queries = new InProcessQueries();
    let outer: number | undefined;
    let inner: number | undefined;
    queries.handle(Queries.embedTexts, async () => {
      inner = currentDeadline();
      return { models: {} };
    });
    queries.handle(Queries.search, async (request) => {
      outer = currentDeadline();
      if (request.text === 'slow') await new Promise((r) => setTimeout(r, 1_000));
      await queries.call(Queries.embedTexts, { texts: ['a'], encoders: ['caption'] });
      return reply;
    });
    await queries.call(Queries.search, search, { timeoutMs: 3_000 });
    assert.ok(outer !== undefined && inner !== undefined);
    assert.ok(inner <= outer - HOP_MARGIN_MS, 'the inner call ends before the outer one');
    await assert.rejects(
      queries.call(Queries.search, { ...search, text: 'slow' }, { timeoutMs: 100 }),
      (e: unknown) => e instanceof UpstreamTimeoutError && e.status === 504,
    );
  });
});
