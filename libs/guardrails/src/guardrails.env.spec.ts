import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '@adseed/config';
import { createTextGuardrail, GuardrailsEnv } from './guardrails.env';

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
    for (const env of [{ ADSEED_DENY_LISTS: '{acme:[1]}' }, { ADSEED_DENY_LISTS: '{"Not A Tenant":["x"]}' }, { ADSEED_DENY_LISTS: '{"acme":"x"}' }, { ADSEED_MODERATION_URL: 'localhost:8080' }]) {
      assert.throws(() => loadConfig(GuardrailsEnv, env), (error: unknown) => error instanceof ConfigError && error.problems.some((p) => p.variable === Object.keys(env)[0]));
    }
  });

  it('can switch the profanity filter off', async () => {
    const guardrail = createTextGuardrail(loadConfig(GuardrailsEnv, { ADSEED_PROFANITY_FILTER: 'false' }));
    assert.deepEqual(await guardrail.check('demo', [{ field: 'segment', text: 'shit' }]), { allowed: true });
  });
});
