import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '@adseed/config';
import { createImageGuardrail, createTextGuardrail, GuardrailsEnv } from './guardrails.env';
import { NsfwjsImageGuardrail } from './nsfwjs.image-classifier';
import { WorkerImageGuardrail } from './worker.image-guardrail';

describe('GuardrailsEnv', () => {
  it('defaults: profanity filter on, no deny lists, no moderation endpoint, fail closed', () => {
    const env = loadConfig(GuardrailsEnv, {});
    assert.equal(env.ADSEED_PROFANITY_FILTER, true);
    assert.deepEqual(env.ADSEED_DENY_LISTS, {});
    assert.equal(env.ADSEED_MODERATION_URL, undefined);
    assert.equal(env.ADSEED_MODERATION_FAIL_OPEN, false);
  });

  it('parses per-tenant deny lists from one JSON variable', async () => {
    const env = loadConfig(GuardrailsEnv, { ADSEED_DENY_LISTS: '{"acme":["RivalCo"],"*":["giveaway"]}' });
    const guardrail = createTextGuardrail(env);
    assert.deepEqual(await guardrail.check('acme', [{ field: 'segment', text: 'RivalCo fans' }]), {
      allowed: false,
      findings: [{ field: 'segment', category: 'deny_list', source: 'deny-list' }],
    });
    assert.deepEqual(await guardrail.check('other', [{ field: 'segment', text: 'RivalCo fans' }]), { allowed: true });
  });

  it('fails start-up naming the variable for bad JSON, bad tenant keys or a bad URL', () => {
    for (const env of [
      { ADSEED_DENY_LISTS: '{acme:[1]}' },
      { ADSEED_DENY_LISTS: '{"Not A Tenant":["x"]}' },
      { ADSEED_DENY_LISTS: '{"acme":"x"}' },
      { ADSEED_MODERATION_URL: 'localhost:8080' },
    ]) {
      assert.throws(
        () => loadConfig(GuardrailsEnv, env),
        (error: unknown) => error instanceof ConfigError && error.problems.some((p) => p.variable === Object.keys(env)[0]),
      );
    }
  });

  it('image guardrail: off by default; nsfwjs in one worker thread (tfjs) unless told otherwise', async () => {
    assert.equal(createImageGuardrail(loadConfig(GuardrailsEnv, {})), undefined);
    const env = loadConfig(GuardrailsEnv, { ADSEED_IMAGE_GUARDRAIL: 'nsfwjs' });
    assert.equal(env.ADSEED_IMAGE_GUARDRAIL_WORKERS, 1);
    assert.equal(env.ADSEED_IMAGE_GUARDRAIL_RUNTIME, 'tfjs');
    const pooled = createImageGuardrail(env)!;
    try {
      assert.ok(pooled instanceof WorkerImageGuardrail);
      assert.equal(pooled.model, 'nsfwjs:MobileNetV2');
    } finally {
      await pooled.close?.();
    }
    assert.ok(
      createImageGuardrail(loadConfig(GuardrailsEnv, { ADSEED_IMAGE_GUARDRAIL: 'nsfwjs', ADSEED_IMAGE_GUARDRAIL_WORKERS: '0' })) instanceof
        NsfwjsImageGuardrail,
    );
  });

  it('image guardrail on onnx: refuses to start without the converted file, or for a model it has no conversion of', () => {
    const missing = loadConfig(GuardrailsEnv, {
      ADSEED_IMAGE_GUARDRAIL: 'nsfwjs',
      ADSEED_IMAGE_GUARDRAIL_RUNTIME: 'onnx',
      ADSEED_IMAGE_GUARDRAIL_ONNX_PATH: '/nonexistent/nsfw.onnx',
    });
    assert.throws(() => createImageGuardrail(missing), /no model at \/nonexistent\/nsfw.onnx .*convert.sh/);
    const inception = loadConfig(GuardrailsEnv, { ADSEED_IMAGE_GUARDRAIL: 'nsfwjs', ADSEED_IMAGE_GUARDRAIL_RUNTIME: 'onnx', ADSEED_NSFW_MODEL: 'InceptionV3' });
    assert.throws(() => createImageGuardrail(inception), /MobileNetV2 only/);
    for (const env of [{ ADSEED_IMAGE_GUARDRAIL_WORKERS: '-1' }, { ADSEED_IMAGE_GUARDRAIL_RUNTIME: 'tfjs-node' }, { ADSEED_IMAGE_GUARDRAIL_TIMEOUT_MS: '5' }]) {
      assert.throws(
        () => loadConfig(GuardrailsEnv, env),
        (error: unknown) => error instanceof ConfigError && error.problems.some((p) => p.variable === Object.keys(env)[0]),
      );
    }
  });

  it('can switch the profanity filter off', async () => {
    const guardrail = createTextGuardrail(loadConfig(GuardrailsEnv, { ADSEED_PROFANITY_FILTER: 'false' }));
    assert.deepEqual(await guardrail.check('demo', [{ field: 'segment', text: 'shit' }]), { allowed: true });
  });
});
