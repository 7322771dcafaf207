import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CommonEnv, loadConfig } from '@adseed/config';
import { Queries, type SearchReply } from '@adseed/contracts';
import { InProcessBroker, ServiceError } from '@adseed/messaging';
import { FsObjectStore } from '@adseed/storage';
import { Logger } from '@adseed/telemetry';
import { status, type ServiceError as GrpcError } from '@grpc/grpc-js';
import { Module, type DynamicModule, type INestApplication, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Registry } from 'prom-client';
import { serveQueries } from '../bootstrap';
import { PlatformModule } from '../health.module';
import { createRuntime, type ServiceRuntime } from '../service-runtime';
import { GrpcQueryClient } from './grpc.query-client';
import { GrpcQueryServer } from './grpc.query-server';
import { check, healthClient } from './grpc-health.test-kit';
import { UpstreamUnavailableError } from './query.port';

const quiet = new Logger({ service: 'test', level: 'error', sink: () => undefined });
const reply: SearchReply = { hits: [], encoders: {}, fusion: 'rrf(k=60)', floor: {} };
const search = (text: string) => ({ tenant: 'acme', text, k: 1, kind: 'seed' as const, encoders: ['caption' as const] });

function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

@Module({})
class ServiceModule {
  static forRoot(runtime: ServiceRuntime): DynamicModule {
    return { module: ServiceModule, imports: [PlatformModule.forRoot(runtime, { http: false })] };
  }
}

/**
 * A service as `runService` builds it (Nest app, PlatformModule, queries served over Nest's gRPC
 * transport), with the runtime's gRPC server swapped in (the one-process runtime has none) and
 * each step of the shutdown recorded in `steps`.
 */
async function startService(dir: string, drainTimeoutMs: number, register: (server: GrpcQueryServer) => void) {
  const steps: string[] = [];
  const base = await createRuntime('retrieval', loadConfig(CommonEnv, { ADSEED_DATA_DIR: dir, LOG_LEVEL: 'error' }), {
    shared: { broker: new InProcessBroker(), store: new FsObjectStore(join(dir, 'objects')) },
    sink: () => undefined,
  });
  const server = new GrpcQueryServer({ url: '127.0.0.1:0', logger: quiet, registry: new Registry(), drainTimeoutMs });
  register(server);
  const runtime: ServiceRuntime = {
    ...base,
    queryServer: server,
    close: async () => {
      await server.close();
      await base.close();
      steps.push('runtime closed');
    },
  };
  const app: INestApplication = await NestFactory.create(ServiceModule.forRoot(runtime), { logger: false });
  await app.init();
  await serveQueries(app, runtime);
  return { app, server, port: server.port!, steps };
}

describe('gRPC graceful shutdown', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'adseed-grpc-shutdown-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('turns NOT_SERVING first, lets the call in flight finish OK, then refuses new calls with UNAVAILABLE', async () => {
    const entered = deferred();
    const release = deferred();
    const { app, port, steps } = await startService(dir, 30_000, (s) =>
      s.handle(Queries.search, async () => {
        entered.resolve();
        await release.promise;
        steps.push('call answered');
        return reply;
      }),
    );
    // one attempt: the refusal after the drain reaches the test instead of being retried
    const client = clientOf(port);
    const health = healthClient(port);
    try {
      // a Watch open before the shutdown starts
      const seen: string[] = [];
      const serving = deferred();
      const notServing = deferred();
      const watchEnded = deferred();
      const stream = (health as unknown as { Watch(req: object): NodeJS.EventEmitter }).Watch({ service: '' });
      stream.on('data', (m: { status: string }) => {
        seen.push(m.status);
        if (m.status === 'SERVING') serving.resolve();
        if (m.status === 'NOT_SERVING') {
          steps.push('watch saw NOT_SERVING');
          notServing.resolve();
        }
      });
      stream.on('end', () => watchEnded.resolve());
      stream.on('error', () => watchEnded.resolve());
      await serving.promise;

      const inFlight = client.call(Queries.search, search('held'));
      await entered.promise;
      // SIGTERM runs the same hooks (beforeApplicationShutdown, dispose, onApplicationShutdown)
      const closing = app.close().then(() => steps.push('app closed'));
      await notServing.promise;
      await watchEnded.promise;
      release.resolve();
      assert.deepEqual(await inFlight, reply, 'the call in flight when the shutdown started completes OK');
      await closing;

      assert.deepEqual(seen, ['SERVING', 'NOT_SERVING']);
      assert.deepEqual(steps, ['watch saw NOT_SERVING', 'call answered', 'runtime closed', 'app closed'], 'NOT_SERVING, then the drain, then the bus');
      // after the drain: the port is closed, the open connection was sent GOAWAY
      await assert.rejects(check(health, ''), (e: GrpcError) => e.code === status.UNAVAILABLE);
      await assert.rejects(client.call(Queries.search, search('late')), (e: unknown) => e instanceof UpstreamUnavailableError && e.status === 503);
    } finally {
      health.close();
      await client.close();
    }
  });

  it('cancels a call still running when the drain timeout is over, and still closes', async () => {
    const entered = deferred();
    const never = deferred();
    const { app, port, steps } = await startService(dir, 200, (s) =>
      s.handle(Queries.search, async () => {
        entered.resolve();
        await never.promise;
        return reply;
      }),
    );
    const client = clientOf(port);
    try {
      const stuck = client.call(Queries.search, search('stuck'), { timeoutMs: 60_000 });
      await entered.promise;
      await app.close();
      await assert.rejects(stuck, (e: unknown) => e instanceof ServiceError && e.status === 503);
      assert.deepEqual(steps, ['runtime closed']);
    } finally {
      never.resolve();
      await client.close();
    }
  });
});

@Module({})
class EmptyModule {}

describe('gRPC round robin over replicas', () => {
  it('spreads calls over every address of a static list, and a replica that drains loses no call', async () => {
    const served = [0, 0];
    const replicas: { app: INestMicroservice; port: number }[] = [];
    for (const i of [0, 1]) {
      const server = new GrpcQueryServer({ url: '127.0.0.1:0', logger: quiet, registry: new Registry() });
      server.handle(Queries.search, async () => {
        served[i] += 1;
        await new Promise((r) => setTimeout(r, 5));
        return reply;
      });
      const app = await NestFactory.createMicroservice(EmptyModule, { strategy: server.createStrategy(), logger: false });
      await app.listen();
      server.started();
      replicas.push({ app, port: server.port! });
    }
    // as the integration cluster gives its callers (a headless Service resolves to the same list)
    const client = new GrpcQueryClient({
      targets: { retrieval: `ipv4:${replicas.map((r) => `127.0.0.1:${r.port}`).join(',')}` },
      rootTimeoutMs: 30_000,
      logger: quiet,
    });
    try {
      const failures: unknown[] = [];
      const calls = async (n: number) => {
        for (let i = 0; i < n; i++) await client.call(Queries.search, search(`q${i}`)).catch((e: unknown) => failures.push(e));
      };
      await Promise.all([calls(20), calls(20)]);
      assert.ok(served[0] > 0 && served[1] > 0, `both replicas answered: ${served.join(' / ')}`);
      // the second replica stops (Nest closes its transport: drain) while two callers keep going
      const before = served[1];
      const load = Promise.all([calls(40), calls(40)]);
      await new Promise((r) => setTimeout(r, 20));
      await replicas[1].app.close();
      await load;
      assert.deepEqual(failures.map(String), [], 'no call failed');
      const afterStop = served[1];
      await calls(10);
      assert.equal(served[1], afterStop, 'nothing reaches the stopped replica');
      assert.ok(afterStop >= before);
    } finally {
      await client.close();
      await replicas[0].app.close();
    }
  });
});

const clientOf = (port: number) =>
  new GrpcQueryClient({ targets: { retrieval: `dns:///127.0.0.1:${port}` }, rootTimeoutMs: 30_000, logger: quiet, maxAttempts: 1 });
