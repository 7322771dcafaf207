import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Conversation, Intent } from './conversation.model';
import { RuleReplyInterpreter } from './rule-reply.interpreter';
import { MatchableSubject, SubjectMatcher } from './subject-matcher';

/** A tenant's subjects as the catalogue lists them: names from captions and tags, merged aliases. */
const subjects: MatchableSubject[] = [
  { name: 'running shoes', aliases: ['sneakers', 'red running shoes'] },
  { name: 'camping tent', aliases: ['tent'] },
  { name: 'coffee mug' },
  { name: 'great outdoors' },
  { name: 'espresso machine' },
];

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
  ['try a different kind', { kind: 'different-subject' }],
  ['something else please', { kind: 'different-subject' }],
  ['show me a different idea', { kind: 'different-subject' }],
  ['no, not this subject', { kind: 'different-subject' }],
  ['show me a camping tent', { kind: 'show-subject', subject: 'camping tent' }],
  ['how about sneakers?', { kind: 'show-subject', subject: 'running shoes' }],
  ['show me some Coffee Mugs', { kind: 'show-subject', subject: 'coffee mug' }],
  ['no, show me a tent instead', { kind: 'show-subject', subject: 'camping tent' }],
  ["I'd like to see an espresso machine", { kind: 'show-subject', subject: 'espresso machine' }],
  ['can I see a campign tent', { kind: 'show-subject', subject: 'camping tent' }],
  ['Great outdoors please', { kind: 'show-subject', subject: 'great outdoors' }],
  ['Tent?', { kind: 'show-subject', subject: 'camping tent' }],
  ['show me a golden retriever', { kind: 'show-subject', subject: 'golden retriever' }],
  ['show me a café crème', { kind: 'show-subject', subject: 'café crème' }],
  ['what is the weather like', { kind: 'unknown' }],
  ['', { kind: 'unknown' }],
  ['   ?!', { kind: 'unknown' }],
];

describe(RuleReplyInterpreter.name, () => {
  const interpreter = new RuleReplyInterpreter();
  for (const [text, expected] of cases) {
    it(`reads ${JSON.stringify(text)} as ${expected.kind}${expected.kind === 'show-subject' ? ` ${expected.subject}` : ''}`, () => {
      assert.deepEqual(interpreter.interpretText(text, subjects), expected);
    });
  }

  it("maps a named subject onto the conversation tenant's subjects, and keeps free text without them", async () => {
    const asked: string[] = [];
    const withCatalogue = new RuleReplyInterpreter(async (tenant) => (asked.push(tenant), subjects));
    const state = { tenant: 'outdoor-co' } as Conversation;
    assert.deepEqual(await withCatalogue.interpret('show me sneakers', state), { kind: 'show-subject', subject: 'running shoes' });
    assert.deepEqual(asked, ['outdoor-co']);
    const failing = new RuleReplyInterpreter(async () => {
      throw new Error('catalogue unavailable');
    });
    assert.deepEqual(await failing.interpret('show me sneakers', state), { kind: 'show-subject', subject: 'sneakers' });
  });
});

describe(SubjectMatcher.name, () => {
  const matcher = new SubjectMatcher(subjects);
  const cases: [string, string | undefined][] = [
    ['running shoes', 'running shoes'],
    ['Running-Shoe', 'running shoes'],
    ['red running shoes', 'running shoes'],
    ['a cute camping tent photo', 'camping tent'],
    ['espreso machine', 'espresso machine'],
    ['mug', undefined],
    ['shoes', undefined],
    ['a photo', undefined],
  ];
  for (const [phrase, expected] of cases) {
    it(`matches ${JSON.stringify(phrase)} to ${expected ?? 'nothing'}`, () => {
      assert.equal(matcher.match(phrase)?.name, expected);
    });
  }
});
