import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ApiKeyEntry } from './gateway.env';
import { keyFingerprint, readCookie, SessionTokens } from './session.tokens';

const keys = (entries: Record<string, ApiKeyEntry>) => new Map(Object.entries(entries));
const MIA: ApiKeyEntry = { tenant: 'shop', role: 'marketer', name: 'mia' };
const ROB: ApiKeyEntry = { tenant: 'shop', role: 'reviewer', name: 'rob' };

describe(SessionTokens.name, () => {
  let now = Date.UTC(2026, 11, 1, 12);
  const clock = () => now;
  const tokens = new SessionTokens(keys({ 'k-mia': MIA, 'k-rob': ROB }), undefined, 3600, clock);

  it('a token it issued proves the key’s tenant, role and name until it expires', () => {
    const { token, session } = tokens.issue('k-rob', ROB);
    assert.deepEqual(tokens.verify(token), { key: keyFingerprint('k-rob'), tenant: 'shop', role: 'reviewer', name: 'rob', expires: now / 1000 + 3600 });
    assert.equal(session.expires, now / 1000 + 3600);
    assert.doesNotMatch(token, /k-rob/, 'the key itself is not in the token');
    now += 3599_000;
    assert.ok(tokens.verify(token));
    now += 1000;
    assert.equal(tokens.verify(token), undefined, 'expired at the second');
    now -= 3600_000;
  });

  it('refuses a token whose payload or signature was changed', () => {
    const { token } = tokens.issue('k-mia', MIA);
    const [payload, signature] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), role: 'admin' })).toString('base64url');
    assert.equal(tokens.verify(`${forged}.${signature}`), undefined);
    assert.equal(tokens.verify(`${payload}.${signature.slice(0, -2)}AA`), undefined);
    assert.equal(tokens.verify(`${payload}.${signature}.x`), undefined);
    assert.equal(tokens.verify('garbage'), undefined);
    assert.equal(tokens.verify(''), undefined);
  });

  it('a session ends when its key is removed or its role, tenant or name changes', () => {
    const { token } = tokens.issue('k-rob', ROB);
    // Same secret (given explicitly), so only the key table differs.
    const secret = 'x'.repeat(32);
    const before = new SessionTokens(keys({ 'k-rob': ROB }), secret, 3600, clock).issue('k-rob', ROB).token;
    assert.ok(new SessionTokens(keys({ 'k-rob': ROB }), secret, 3600, clock).verify(before));
    assert.equal(new SessionTokens(keys({ 'k-mia': MIA }), secret, 3600, clock).verify(before), undefined, 'key removed');
    assert.equal(new SessionTokens(keys({ 'k-rob': { ...ROB, role: 'marketer' } }), secret, 3600, clock).verify(before), undefined, 'role lowered');
    assert.equal(new SessionTokens(keys({ 'k-rob': { ...ROB, tenant: 'other' } }), secret, 3600, clock).verify(before), undefined, 'tenant changed');
    assert.equal(new SessionTokens(keys({ 'k-rob': ROB }), 'y'.repeat(32), 3600, clock).verify(before), undefined, 'another secret');
    // Without a secret, replicas with the same keys agree; a changed key set ends every session.
    assert.ok(new SessionTokens(keys({ 'k-rob': ROB, 'k-mia': MIA }), undefined, 3600, clock).verify(token), 'same keys in another order');
    assert.equal(new SessionTokens(keys({ 'k-rob': ROB, 'k-mia': MIA, 'k-new': MIA }), undefined, 3600, clock).verify(token), undefined);
  });

  it('readCookie finds one cookie among several', () => {
    assert.equal(readCookie('a=1; adseed_session=abc.def; b=2', 'adseed_session'), 'abc.def');
    assert.equal(readCookie('xadseed_session=1', 'adseed_session'), undefined);
    assert.equal(readCookie(undefined, 'adseed_session'), undefined);
  });
});
