import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineTopic } from '@adseed/contracts';
import { CommonEnv, ConfigError, loadConfig } from '@adseed/config';
import { z } from 'zod';
import { partitionsConsumedAtOnce, partitionsOf } from './kafka.bus';

describe(partitionsOf.name, () => {
  const ingest = defineTopic('adseed.asset.ingest-requested.v1', z.object({}), 16);
  const indexed = defineTopic('adseed.asset.indexed.v1', z.object({}), 3);

  it("keeps each topic's own count when nothing is configured", () => {
    const env = loadConfig(CommonEnv, {});
    const settings = { default: env.KAFKA_TOPIC_PARTITIONS, byTopic: env.KAFKA_TOPIC_PARTITIONS_OVERRIDES };
    assert.equal(partitionsOf(ingest, settings), 16);
    assert.equal(partitionsOf(indexed, settings), 3);
    assert.equal(partitionsOf(indexed, undefined), 3);
  });

  it('KAFKA_TOPIC_PARTITIONS sets every topic, and a per-topic override wins over it', () => {
    const env = loadConfig(CommonEnv, {
      KAFKA_TOPIC_PARTITIONS: '12',
      KAFKA_TOPIC_PARTITIONS_OVERRIDES: 'adseed.asset.ingest-requested.v1=96, adseed.other.thing.v1=2',
    });
    const settings = { default: env.KAFKA_TOPIC_PARTITIONS, byTopic: env.KAFKA_TOPIC_PARTITIONS_OVERRIDES };
    assert.equal(partitionsOf(ingest, settings), 96);
    assert.equal(partitionsOf(indexed, settings), 12);
  });

  it('start-up fails naming a malformed override', () => {
    assert.throws(
      () => loadConfig(CommonEnv, { KAFKA_TOPIC_PARTITIONS_OVERRIDES: 'adseed.asset.indexed.v1=0,nonsense' }),
      (error: unknown) =>
        error instanceof ConfigError && error.problems.length === 2 && error.problems.every((p) => p.variable === 'KAFKA_TOPIC_PARTITIONS_OVERRIDES'),
    );
    assert.throws(() => loadConfig(CommonEnv, { KAFKA_TOPIC_PARTITIONS: '-1' }), ConfigError);
  });
});

describe(partitionsConsumedAtOnce.name, () => {
  it("a subscriber's window widens the partitions handled at once, never narrows them", () => {
    assert.equal(partitionsConsumedAtOnce(undefined, undefined), 3);
    assert.equal(partitionsConsumedAtOnce(undefined, 5), 5);
    assert.equal(partitionsConsumedAtOnce(32, undefined), 32, 'the ingest consumer: twice the encoder batch');
    assert.equal(partitionsConsumedAtOnce(2, 5), 5);
  });
});
