import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { KserveCallError, type KserveEndpoint, type KserveFailureKind, type KserveInferResponse, type KserveModelMetadata } from './kserve-v2.types';
import { NoHealthyEndpointError, TritonEndpointPool } from './triton-endpoint-pool';

/** An endpoint whose health the test sets; records every call it gets. */
class FakeEndpoint implements KserveEndpoint {
  readonly calls: string[] = [];
  serverUp = true;
  readyModels = new Set(['clip_image@', 'clip_text@']);
  probeFailure?: KserveFailureKind;
  closed = false;

  constructor(readonly address: string) {}

  async serverReady(): Promise<boolean> {
    this.calls.push('ServerReady');
    if (this.probeFailure) throw new KserveCallError(this.probeFailure, this.address, 'ServerReady', `ServerReady on ${this.address}: ${this.probeFailure}`);
    return this.serverUp;
  }

  async modelReady(name: string, version: string): Promise<boolean> {
    this.calls.push(`ModelReady ${name}@${version}`);
    return this.readyModels.has(`${name}@${version}`);
  }

  modelMetadata(): Promise<KserveModelMetadata> {
    throw new Error('not used');
  }

  modelInfer(): Promise<KserveInferResponse> {
    throw new Error('not used');
  }

  close(): void {
    this.closed = true;
  }
}

const fail = (endpoint: KserveEndpoint, kind: KserveFailureKind) =>
  new KserveCallError(kind, endpoint.address, 'ModelInfer', `ModelInfer on ${endpoint.address}: ${kind}`);

function setup(count: number) {
  let clock = 1_000;
  const endpoints = Array.from({ length: count }, (_, i) => new FakeEndpoint(`host-${i}:8001`));
  const pool = new TritonEndpointPool(endpoints, { probeTimeoutMs: 100, retryDownAfterMs: 5_000, now: () => clock });
  pool.requireModels([
    { name: 'clip_image', version: '' },
    { name: 'clip_text', version: '' },
  ]);
  return { endpoints, pool, advance: (ms: number) => (clock += ms) };
}

describe(TritonEndpointPool.name, () => {
  it('probes an endpoint of unknown health (server, then every required model) before its first request, once', async () => {
    const { endpoints, pool } = setup(1);
    assert.equal(await pool.run('call', async (e) => e.address), 'host-0:8001');
    assert.equal(await pool.run('call', async (e) => e.address), 'host-0:8001');
    assert.deepEqual(endpoints[0].calls, ['ServerReady', 'ModelReady clip_image@', 'ModelReady clip_text@']);
    assert.deepEqual(pool.health(), [{ address: 'host-0:8001', state: 'up' }]);
  });

  it('skips an endpoint that fails its probe and serves from the next', async () => {
    const { endpoints, pool } = setup(3);
    endpoints[0].probeFailure = 'unavailable';
    endpoints[1].readyModels.delete('clip_text@');
    assert.equal(await pool.run('call', async (e) => e.address), 'host-2:8001');
    assert.deepEqual(
      pool.health().map((h) => h.state),
      ['down', 'down', 'up'],
    );
    assert.match(pool.health()[1].lastError ?? '', /model clip_text is not ready/);
  });

  it('fails over when a healthy endpoint fails a call, and then prefers the one that worked', async () => {
    const { endpoints, pool } = setup(2);
    await pool.run('warm', async () => undefined); // host-0 up
    const used: string[] = [];
    const result = await pool.run('call', async (e) => {
      used.push(e.address);
      if (e === endpoints[0]) throw fail(e, 'deadline');
      return 'ok';
    });
    assert.equal(result, 'ok');
    assert.deepEqual(used, ['host-0:8001', 'host-1:8001']);
    used.length = 0;
    await pool.run('again', async (e) => used.push(e.address));
    assert.deepEqual(used, ['host-1:8001'], 'the failed endpoint waits for its retry interval');
  });

  it('does not retry a request the server rejected as invalid: every endpoint would reject it', async () => {
    const { endpoints, pool } = setup(2);
    let attempts = 0;
    await assert.rejects(
      pool.run('call', async (e) => {
        attempts++;
        throw fail(e, 'rejected');
      }),
      (error: Error) => error instanceof KserveCallError && error.kind === 'rejected',
    );
    assert.equal(attempts, 1);
    assert.equal(pool.health()[0].state, 'up', 'a bad request says nothing about the endpoint');
    assert.equal(endpoints[1].calls.length, 0);
  });

  it('when all are down, fails at once with every reason until the retry interval has passed, then probes again', async () => {
    const { endpoints, pool, advance } = setup(2);
    for (const e of endpoints) e.probeFailure = 'unavailable';
    await assert.rejects(
      pool.run('ModelInfer clip_image', async () => 'never'),
      NoHealthyEndpointError,
    );
    const probesAfterFirst = endpoints.map((e) => e.calls.length);

    advance(4_999);
    await assert.rejects(
      pool.run('ModelInfer clip_image', async () => 'never'),
      (error: Error) => {
        assert.ok(error instanceof NoHealthyEndpointError);
        assert.match(
          error.message,
          /^ModelInfer clip_image: no Triton endpoint could serve it: host-0:8001: down \(probe failed: .*unavailable\); next probe in 1 ms; host-1:8001: /,
        );
        return true;
      },
    );
    assert.deepEqual(
      endpoints.map((e) => e.calls.length),
      probesAfterFirst,
      'no probe inside the interval',
    );

    endpoints[1].probeFailure = undefined;
    advance(1);
    assert.equal(await pool.run('call', async (e) => e.address), 'host-1:8001');
    assert.equal(pool.hasHealthyEndpoint(), true);
  });

  it('checks the versions it was told to require', async () => {
    const { endpoints, pool } = setup(1);
    pool.requireModels([{ name: 'clip_image', version: '2' }]);
    await assert.rejects(
      pool.run('call', async () => 'never'),
      /model clip_image version 2 is not ready there/,
    );
    assert.deepEqual(endpoints[0].calls.slice(-1), ['ModelReady clip_image@2']);
  });

  it('passes on errors that are not call failures, and closes every endpoint', async () => {
    const { endpoints, pool } = setup(2);
    await assert.rejects(
      pool.run('call', async () => Promise.reject(new TypeError('bug'))),
      TypeError,
    );
    pool.close();
    assert.ok(endpoints.every((e) => e.closed));
    assert.throws(() => new TritonEndpointPool([], { probeTimeoutMs: 1 }), /TRITON_ENDPOINTS/);
  });
});
