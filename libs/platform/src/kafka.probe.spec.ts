import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CommonEnv, loadConfig } from '@adseed/config';
import { classifyFailure } from './failures';
import { KafkaClusterProbe } from './kafka.probe';
import { unusedPort } from '@adseed/testing';

describe(KafkaClusterProbe.name, () => {
  it('a broker that refuses fails the probe at once (no retries) as unavailable, and the next probe tries again', async () => {
    const env = loadConfig(CommonEnv, { ADSEED_BUS: 'kafka', KAFKA_BROKERS: `127.0.0.1:${await unusedPort()}` });
    const probe = new KafkaClusterProbe(env, 'test');
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        const error = await probe.describe().then(
          () => undefined,
          (e: unknown) => e,
        );
        assert.ok(error instanceof Error, 'the probe must fail');
        assert.equal(classifyFailure(error), 'unavailable', `${error.name}: ${error.message}`);
      }
    } finally {
      await probe.close();
    }
  });
});
