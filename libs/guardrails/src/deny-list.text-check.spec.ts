import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DenyListTextCheck } from './deny-list.text-check';

describe(DenyListTextCheck.name, () => {
  const check = new DenyListTextCheck({ acme: ['RivalCo', 'free forever'], '*': ['crypto giveaway'] });
  const fields = (text: string) => [{ field: 'headline', text }];

  it("matches a tenant's terms as whole words, case- and accent-insensitively", async () => {
    assert.equal((await check.check('acme', fields('Better than rivalco!'))).length, 1);
    assert.equal((await check.check('acme', fields('Bétter than RÏVALCO'))).length, 1);
    assert.equal((await check.check('acme', fields('Free   forever, really'))).length, 1);
    assert.equal((await check.check('acme', fields('rivalcorp is not listed'))).length, 0);
    assert.equal((await check.check('acme', fields('free for ever'))).length, 0);
  });

  it("keeps tenants apart; '*' applies to everyone", async () => {
    assert.deepEqual(await check.check('other', fields('Better than RivalCo')), []);
    assert.deepEqual(await check.check('other', fields('Join our crypto giveaway')), [{ field: 'headline', category: 'deny_list', source: 'deny-list' }]);
    assert.equal((await check.check('acme', fields('crypto giveaway'))).length, 1);
  });

  it('treats regular-expression characters in a term literally', async () => {
    const literal = new DenyListTextCheck({ t: ['c++ (beta)'] });
    assert.equal((await literal.check('t', fields('try c++ (beta) now'))).length, 1);
    assert.equal((await literal.check('t', fields('try cc (beta) now'))).length, 0);
  });
});
