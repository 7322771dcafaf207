import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { ALWAYS, CommonEnv, ConfigError, envInt, loadConfig, loadConfigs } from './index';

const Own = z
  .object({ ADSEED_INDEX: z.enum(['embedded', 'qdrant']).default('embedded'), QDRANT_URL: z.string().url().optional(), ADSEED_RRF_K: envInt(60, 1, 1000) })
  .superRefine((env, ctx) => {
    if (env.ADSEED_INDEX === 'qdrant' && !env.QDRANT_URL) ctx.addIssue({ code: 'custom', path: ['QDRANT_URL'], message: 'required when ADSEED_INDEX=qdrant' });
  }, ALWAYS);

const problemsOf = (fn: () => unknown): { variable: string; reason: string }[] => {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail('expected a ConfigError');
};

describe('configuration', () => {
  it('lists a cross-field rule together with the fields that fail on their own (zod would skip it)', () => {
    const problems = problemsOf(() => loadConfig(Own, { ADSEED_INDEX: 'qdrant', ADSEED_RRF_K: 'many' }));
    assert.deepEqual(problems.map((p) => p.variable).sort(), ['ADSEED_RRF_K', 'QDRANT_URL']);
  });

  it('lists the problems of every schema at once, each variable once', () => {
    const problems = problemsOf(() =>
      loadConfigs(
        { common: CommonEnv, own: Own, again: Own },
        { PORT: 'eighty', ADSEED_STORE: 'minio', MINIO_ACCESS_KEY: 'k', KAFKA_SASL_MECHANISM: 'plain', ADSEED_INDEX: 'qdrant' },
      ),
    );
    assert.deepEqual(problems.map((p) => p.variable).sort(), ['KAFKA_SASL_PASSWORD', 'KAFKA_SASL_USERNAME', 'MINIO_SECRET_KEY', 'PORT', 'QDRANT_URL']);
    const message = new ConfigError(problems).message;
    assert.match(message, /invalid configuration \(5 problems\)/);
    for (const p of problems) assert.ok(message.includes(`  - ${p.variable}: ${p.reason}`));
  });

  it('returns every schema parsed when all is well', () => {
    const { common, own } = loadConfigs({ common: CommonEnv, own: Own }, { PORT: '9000', ADSEED_INDEX: 'qdrant', QDRANT_URL: 'http://q:6333' });
    assert.equal(common.PORT, 9000);
    assert.equal(own.QDRANT_URL, 'http://q:6333');
  });

  it('MinIO needs both keys; SASL needs its username and password', () => {
    assert.deepEqual(
      problemsOf(() => loadConfig(CommonEnv, { ADSEED_STORE: 'minio' })).map((p) => p.variable),
      ['MINIO_ACCESS_KEY', 'MINIO_SECRET_KEY'],
    );
    assert.equal(loadConfig(CommonEnv, { ADSEED_STORE: 'minio', MINIO_ACCESS_KEY: 'a', MINIO_SECRET_KEY: 'b' }).ADSEED_STORE, 'minio');
    assert.deepEqual(
      problemsOf(() => loadConfig(CommonEnv, { KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: 'u' })),
      [{ variable: 'KAFKA_SASL_PASSWORD', reason: 'required with KAFKA_SASL_MECHANISM=scram-sha-256' }],
    );
  });
});
