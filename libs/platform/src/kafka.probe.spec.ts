import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { CommonEnv, loadConfig } from '@adseed/config';
import { classifyFailure } from './failures';
import { KafkaClusterProbe } from './kafka.probe';

/** A port nothing listens on: bound, then released. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe(KafkaClusterProbe.name, () => {
  it('a broker that refuses fails the probe at once (no retries) as unavailable, and the next probe tries again', async () => {
    const env = loadConfig(CommonEnv, { ADSEED_BUS: 'kafka', KAFKA_BROKERS: `127.0.0.1:${await deadPort()}` });
    const probe = new KafkaClusterProbe(env, 'test');
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        const error = await probe.describe().then(() => undefined, (e: unknown) => e);
        assert.ok(error instanceof Error, 'the probe must fail');
        assert.equal(classifyFailure(error), 'unavailable', `${error.name}: ${error.message}`);
      }
    } finally {
      await probe.close();
    }
  });
});
