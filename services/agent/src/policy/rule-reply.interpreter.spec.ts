import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CatalogueSubjectMatcher } from './catalogue-subject.matcher';
import { Intent } from './conversation.model';
import { RuleReplyInterpreter } from './rule-reply.interpreter';

const cases: [string, Intent][] = [
  ['yes', { kind: 'accept' }],
  ['Yes please!', { kind: 'accept' }],
  ['looks good', { kind: 'accept' }],
  ['accept', { kind: 'accept' }],
  ['OK, go ahead', { kind: 'accept' }],
  ['not bad at all', { kind: 'accept' }],
  ["let's go with it", { kind: 'accept' }],
  ['no', { kind: 'reject' }],
  ['Nope.', { kind: 'reject' }],
  ['not quite', { kind: 'reject' }],
  ['next', { kind: 'reject' }],
  ['another one', { kind: 'reject' }],
  ['show me another one', { kind: 'reject' }],
  ["I don't like it", { kind: 'reject' }],
  ["doesn't look good", { kind: 'reject' }],
  ['different subject', { kind: 'different-subject' }],
  ['try a different breed', { kind: 'different-subject' }],
  ['something else please', { kind: 'different-subject' }],
  ['show me a different animal', { kind: 'different-subject' }],
  ['no, not this breed', { kind: 'different-subject' }],
  ['show me a beagle', { kind: 'show-subject', subject: 'beagle' }],
  ['how about a persian cat?', { kind: 'show-subject', subject: 'Persian' }],
  ['show me some Maine Coons', { kind: 'show-subject', subject: 'Maine_Coon' }],
  ['no, show me an English cocker spaniel instead', { kind: 'show-subject', subject: 'english_cocker_spaniel' }],
  ["I'd like to see a yorkie", { kind: 'show-subject', subject: 'yorkshire_terrier' }],
  ['what about pugs', { kind: 'show-subject', subject: 'pug' }],
  ['can I see a pomeranain', { kind: 'show-subject', subject: 'pomeranian' }],
  ['Great Pyrenees please', { kind: 'show-subject', subject: 'great_pyrenees' }],
  ['Boxer?', { kind: 'show-subject', subject: 'boxer' }],
  ['show me a golden retriever', { kind: 'show-subject', subject: 'golden retriever' }],
  ['what is the weather like', { kind: 'unknown' }],
  ['', { kind: 'unknown' }],
  ['   ?!', { kind: 'unknown' }],
];

describe(RuleReplyInterpreter.name, () => {
  const interpreter = new RuleReplyInterpreter();
  for (const [text, expected] of cases) {
    it(`reads ${JSON.stringify(text)} as ${expected.kind}${expected.kind === 'show-subject' ? ` ${expected.subject}` : ''}`, () => {
      assert.deepEqual(interpreter.interpretText(text), expected);
    });
  }
});

describe(CatalogueSubjectMatcher.name, () => {
  const matcher = new CatalogueSubjectMatcher();
  const cases: [string, string | undefined][] = [
    ['english_cocker_spaniel', 'english_cocker_spaniel'],
    ['English cocker spaniels', 'english_cocker_spaniel'],
    ['british shorthair cats', 'British_Shorthair'],
    ['st. bernard', 'saint_bernard'],
    ['a cute beagle puppy', 'beagle'],
    ['siamise', 'Siamese'],
    ['pig', undefined],
    ['terrier', undefined],
    ['a cat', undefined],
  ];
  for (const [phrase, expected] of cases) {
    it(`matches ${JSON.stringify(phrase)} to ${expected ?? 'nothing'}`, () => {
      assert.equal(matcher.match(phrase)?.name, expected);
    });
  }
});
