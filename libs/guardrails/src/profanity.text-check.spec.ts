import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { joinSpacedOutLetters, ProfanityTextCheck } from './profanity.text-check';

describe(ProfanityTextCheck.name, () => {
  const check = new ProfanityTextCheck();

  it('flags plain and obfuscated profanity: repeated letters, leetspeak, confusables, spaced-out letters', () => {
    for (const text of [
      'what the fuck',
      'fuuuuck this',
      'sh1t happens',
      'f*ck',
      'you b1tch',
      'ＦＵＣＫ',
      'f u c k',
      'f.u.c.k off',
      's-h-i-t',
      'F U C K dogs',
    ]) {
      assert.equal(check.isProfane(text), true, text);
    }
  });

  it('lets ordinary ad copy through, including words that contain a profane substring', () => {
    for (const text of [
      'outdoor-loving dog owners',
      'Scunthorpe cat lovers',
      'a classic assassin thriller fan',
      'Buy now, save 20%',
      'grass hit the spot',
      'I am a U S A fan',
      'cocktail lovers',
    ]) {
      assert.equal(check.isProfane(text), false, text);
    }
  });

  it('joins only runs of three or more single characters', () => {
    assert.equal(joinSpacedOutLetters('f u c k you'), 'fuck you');
    assert.equal(joinSpacedOutLetters('plan a or b'), 'plan a or b');
    assert.equal(joinSpacedOutLetters('a b'), 'a b');
  });

  it('reports the field and the category, never the word', async () => {
    const findings = await check.check('demo', [
      { field: 'segment', text: 'dog lovers' },
      { field: 'headline', text: 'shit deals' },
    ]);
    assert.deepEqual(findings, [{ field: 'headline', category: 'profanity', source: 'profanity' }]);
  });
});
