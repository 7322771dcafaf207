import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Conversation, PolicyPorts, ProposedSubject, SeedHit, SubjectProposer, SubjectsExhaustedError } from './conversation.model';
import { ConversationPolicy, ConversationPolicyOptions } from './conversation.policy';
import { RuleReplyInterpreter } from './rule-reply.interpreter';

type GenerateInput = Parameters<PolicyPorts['generate']>[0];

function seedsFor(subject: string, count: number): SeedHit[] {
  return Array.from({ length: count }, (_, i) => ({
    rank: i,
    assetId: `${subject}-${i}`,
    path: `seeds/${subject}/${i}.jpg`,
    url: `/v1/assets/content?path=seeds/${subject}/${i}.jpg`,
    score: 0.9 - i * 0.1,
    caption: `a ${subject} photo ${i}`,
  }));
}

/** Fake retrieval + generation over an in-memory library, recording every call. */
class FakePorts implements PolicyPorts {
  readonly retrieveCalls: { subject: string; k: number }[] = [];
  readonly generateCalls: GenerateInput[] = [];
  failRetrieve: Error | undefined;
  failGenerate: Error | undefined;
  hangRetrieve = false;

  constructor(private readonly library: Record<string, SeedHit[]>) {}

  async retrieve(subject: string, k: number): Promise<SeedHit[]> {
    this.retrieveCalls.push({ subject, k });
    if (this.hangRetrieve) return new Promise<SeedHit[]>(() => undefined);
    if (this.failRetrieve) throw this.failRetrieve;
    return (this.library[subject] ?? []).slice(0, k);
  }

  async generate(input: GenerateInput): Promise<{ path: string; url: string }> {
    this.generateCalls.push(input);
    if (this.failGenerate) throw this.failGenerate;
    const path = `ads/${input.subject}-${this.generateCalls.length}.png`;
    return { path, url: `/v1/assets/content?path=${path}` };
  }
}

/** Proposes from a fixed preference list, skipping excluded names; records each call's exclusions. */
class ScriptedProposer implements SubjectProposer {
  readonly name = 'scripted';
  readonly calls: string[][] = [];
  constructor(private readonly preference: string[]) {}
  async propose(_segment: string, exclude: string[]): Promise<ProposedSubject> {
    this.calls.push([...exclude]);
    const name = this.preference.find((p) => !exclude.includes(p));
    if (!name) throw new SubjectsExhaustedError(exclude);
    return { name, reason: `${name} fits.` };
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

function setup(library: Record<string, SeedHit[]>, preference: string[], extra: Partial<ConversationPolicyOptions> = {}) {
  const ports = new FakePorts(library);
  const proposer = new ScriptedProposer(preference);
  let tick = 0;
  const policy = new ConversationPolicy({
    ports,
    proposer,
    // the tenant's subjects, as the catalogue would list them
    interpreter: new RuleReplyInterpreter(async () => [{ name: 'Persian', aliases: ['persian cat'] }, { name: 'pug' }]),
    now: () => new Date(Date.UTC(2025, 0, 1, 0, 0, tick++)),
    ...extra,
  });
  /** Replies to a frozen state: any mutation of the input throws. */
  const say = (c: Conversation, text: string) => policy.reply(deepFreeze(c), text);
  const start = () => policy.start({ id: 'c1', tenant: 'demo', segment: 'outdoor-loving dog owners', brandPath: 'brand/logo.png' });
  return { ports, proposer, policy, say, start };
}

const lastAgentText = (c: Conversation) => c.messages[c.messages.length - 1].text;

describe(ConversationPolicy.name, () => {
  it('a conversation left in generating past the generation budget goes back to its chosen seed on the next message; before that it keeps waiting', async () => {
    const { say, start } = setup({ german_shorthaired: seedsFor('gsp', 3) }, ['german_shorthaired'], { timeouts: { generateMs: 60_000 } });
    const chosen = await say(await start(), 'yes');
    assert.equal(chosen.status, 'awaiting-seed');
    // the clock of setup() reads 2025-01-01T00:00:0N: one updated a second ago is still waiting
    const recent = await say({ ...chosen, status: 'generating', updatedAt: new Date(Date.UTC(2025, 0, 1, 0, 0, 0)).toISOString() }, 'is it ready?');
    assert.equal(recent.status, 'generating');
    assert.match(lastAgentText(recent), /still generating/);
    const stale = await say({ ...chosen, status: 'generating', updatedAt: new Date(Date.UTC(2024, 11, 31, 23, 0, 0)).toISOString() }, 'is it ready?');
    assert.equal(stale.status, 'awaiting-seed');
    assert.equal(stale.currentSeed?.path, chosen.currentSeed?.path, 'the choice is kept');
    assert.match(lastAgentText(stale), /no ad arrived within 60 s.*say yes to try again/);
  });

  it('runs a full scripted conversation: one retrieval per subject, seeds 0→1→2, a new subject after the third rejection, then the ad', async () => {
    const library = { german_shorthaired: seedsFor('gsp', 3), beagle: seedsFor('beagle', 3), samoyed: seedsFor('samoyed', 3) };
    const { ports, proposer, policy, say, start } = setup(library, ['german_shorthaired', 'beagle', 'samoyed']);

    let c = await start();
    assert.equal(c.status, 'awaiting-subject');
    assert.deepEqual(c.subject, { name: 'german_shorthaired', reason: 'german_shorthaired fits.' });
    assert.match(lastAgentText(c), /I suggest german shorthaired\./);
    assert.equal(ports.retrieveCalls.length, 0);

    c = await say(c, 'nope');
    assert.equal(c.status, 'awaiting-subject');
    assert.deepEqual(c.rejectedSubjects, ['german_shorthaired']);
    assert.equal(c.subject?.name, 'beagle');
    assert.deepEqual(proposer.calls[1], ['german_shorthaired']);

    c = await say(c, 'yes please');
    assert.equal(c.status, 'awaiting-seed');
    assert.deepEqual(ports.retrieveCalls, [{ subject: 'beagle', k: 3 }]);
    const shown = [c.currentSeed?.assetId];

    c = await say(c, 'next');
    shown.push(c.currentSeed?.assetId);
    c = await say(c, 'another one');
    shown.push(c.currentSeed?.assetId);
    assert.deepEqual(shown, ['beagle-0', 'beagle-1', 'beagle-2']);
    assert.equal(c.seedIndex, 2);
    assert.equal(ports.retrieveCalls.length, 1, 'stepping through seeds must not retrieve again');

    c = await say(c, 'not quite');
    assert.equal(c.status, 'awaiting-seed', 'a new subject is proposed and shown at once');
    assert.deepEqual(c.rejectedSubjects, ['german_shorthaired', 'beagle']);
    assert.deepEqual(proposer.calls[proposer.calls.length - 1], ['german_shorthaired', 'beagle']);
    assert.equal(c.subject?.name, 'samoyed');
    assert.deepEqual(
      ports.retrieveCalls.map((r) => r.subject),
      ['beagle', 'samoyed'],
    );
    assert.equal(c.currentSeed?.assetId, 'samoyed-0');
    assert.equal(c.seedIndex, 0);

    const states: Conversation[] = [];
    c = await policy.reply(deepFreeze(c), 'looks good', { onState: (s) => void states.push(s) });
    assert.deepEqual(
      states.map((s) => s.status),
      ['generating'],
    );
    assert.equal(c.status, 'done');
    assert.deepEqual(ports.generateCalls, [
      { seedPath: 'seeds/samoyed/0.jpg', brandPath: 'brand/logo.png', subject: 'samoyed', segment: 'outdoor-loving dog owners' },
    ]);
    assert.deepEqual(c.ad, { path: 'ads/samoyed-1.png', url: '/v1/assets/content?path=ads/samoyed-1.png', seedPath: 'seeds/samoyed/0.jpg' });

    const after = await say(c, 'now do one for cat owners in apartments');
    assert.equal(after.status, 'done');
    assert.match(lastAgentText(after), /new segment is not supported/);
    assert.equal(ports.retrieveCalls.length, 2);
    assert.equal(ports.generateCalls.length, 1);

    // the transcript alternates user/agent after the opening proposal, with ordered timestamps
    const roles = after.messages.map((m) => m.role);
    assert.equal(roles[0], 'agent');
    assert.equal(after.messages.filter((m) => m.role === 'user').length, 7);
    const times = after.messages.map((m) => m.at);
    assert.deepEqual([...times].sort(), times);
    assert.equal(after.updatedAt, times[times.length - 1]);
    assert.ok(after.createdAt <= times[0]);
  });

  it('shows a subject the user names, from awaiting-subject and from awaiting-seed, retrieving once for each', async () => {
    const { ports, say, start } = setup({ pug: seedsFor('pug', 3), Persian: seedsFor('persian', 3) }, ['beagle']);
    let c = await say(await start(), 'show me a pug');
    assert.equal(c.status, 'awaiting-seed');
    assert.equal(c.subject?.name, 'pug');
    assert.equal(c.currentSeed?.assetId, 'pug-0');

    c = await say(c, 'how about a persian cat?');
    assert.equal(c.subject?.name, 'Persian');
    assert.equal(c.currentSeed?.assetId, 'persian-0');
    assert.deepEqual(
      ports.retrieveCalls.map((r) => r.subject),
      ['pug', 'Persian'],
    );
    assert.deepEqual(c.rejectedSubjects, [], 'naming a subject is not a rejection');
  });

  it('on "different subject" while showing seeds, rejects the subject, proposes another and retrieves it at once', async () => {
    const { ports, say, start } = setup({ beagle: seedsFor('beagle', 3), boxer: seedsFor('boxer', 3) }, ['beagle', 'boxer']);
    let c = await say(await start(), 'yes');
    c = await say(c, 'try a different subject');
    assert.equal(c.status, 'awaiting-seed');
    assert.deepEqual(c.rejectedSubjects, ['beagle']);
    assert.equal(c.currentSeed?.assetId, 'boxer-0');
    assert.match(lastAgentText(c), /Let's try boxer/);
    assert.deepEqual(
      ports.retrieveCalls.map((r) => r.subject),
      ['beagle', 'boxer'],
    );
  });

  it('handles a small library: fewer than three seeds', async () => {
    const { ports, say, start } = setup({ beagle: seedsFor('beagle', 1), boxer: seedsFor('boxer', 2) }, ['beagle', 'boxer']);
    let c = await say(await start(), 'yes');
    assert.equal(c.seeds.length, 1);
    assert.match(lastAgentText(c), /Photo 1 of 1/);
    c = await say(c, 'next');
    assert.equal(c.subject?.name, 'boxer', 'after the only seed is rejected, the next subject comes');
    c = await say(c, 'next');
    assert.equal(c.currentSeed?.assetId, 'boxer-1');
    assert.deepEqual(
      ports.retrieveCalls.map((r) => r.subject),
      ['beagle', 'boxer'],
    );
  });

  it('keeps only the first seedsPerSubject hits even if retrieval returns more', async () => {
    const ports: PolicyPorts = { retrieve: async () => seedsFor('beagle', 5), generate: async () => ({ path: 'a/b', url: 'u' }) };
    const policy = new ConversationPolicy({ ports, proposer: new ScriptedProposer(['beagle']), interpreter: new RuleReplyInterpreter() });
    const c = await policy.reply(await policy.start({ id: 'x', tenant: 'demo', segment: 's' }), 'yes');
    assert.equal(c.seeds.length, 3);
    assert.equal('brandPath' in c, false, 'no brand → no brandPath key');
  });

  it('says so when a subject has no photos and proposes another, without retrieving for it yet', async () => {
    const { ports, say, start } = setup({ boxer: seedsFor('boxer', 3) }, ['beagle', 'boxer']);
    const c = await say(await start(), 'yes');
    assert.equal(c.status, 'awaiting-subject');
    assert.match(lastAgentText(c), /no photo of beagle that is close enough to show \(noted in the seed-gap report\)/);
    assert.deepEqual(c.rejectedSubjects, ['beagle']);
    assert.equal(c.subject?.name, 'boxer');
    assert.deepEqual(
      ports.retrieveCalls.map((r) => r.subject),
      ['beagle'],
    );
  });

  it('after an automatic subject switch finds no photos, proposes the next one and waits', async () => {
    const { ports, say, start } = setup({ beagle: seedsFor('beagle', 1) }, ['beagle', 'boxer', 'pug']);
    let c = await say(await start(), 'yes');
    c = await say(c, 'no');
    assert.equal(c.status, 'awaiting-subject');
    assert.deepEqual(c.rejectedSubjects, ['beagle', 'boxer']);
    assert.equal(c.subject?.name, 'pug');
    assert.equal(c.currentSeed, undefined);
    assert.deepEqual(c.seeds, []);
    assert.deepEqual(
      ports.retrieveCalls.map((r) => r.subject),
      ['beagle', 'boxer'],
    );
  });

  it('keeps the conversation when generation fails, and can retry', async () => {
    const { ports, say, start } = setup({ beagle: seedsFor('beagle', 3) }, ['beagle']);
    let c = await say(await say(await start(), 'yes'), 'next');
    ports.failGenerate = new Error('generator queue is full');
    c = await say(c, 'yes');
    assert.equal(c.status, 'awaiting-seed');
    assert.equal(c.currentSeed?.assetId, 'beagle-1');
    assert.equal(c.ad, undefined);
    assert.match(lastAgentText(c), /generator queue is full/);

    ports.failGenerate = undefined;
    c = await say(c, 'yes');
    assert.equal(c.status, 'done');
    assert.deepEqual(
      ports.generateCalls.map((g) => g.seedPath),
      ['seeds/beagle/1.jpg', 'seeds/beagle/1.jpg'],
    );
  });

  it('answers an unknown reply with what it understands and changes nothing else', async () => {
    const { say, start } = setup({ beagle: seedsFor('beagle', 3) }, ['beagle']);
    const before = await say(await start(), 'yes');
    const after = await say(before, 'what is the meaning of life');
    assert.match(lastAgentText(after), /yes.*next.*different subject.*show me a/s);
    const strip = ({ messages: _m, updatedAt: _u, ...rest }: Conversation) => rest;
    assert.deepEqual(strip(after), strip(before));
    assert.equal(after.messages.length, before.messages.length + 2);
  });

  it('reports a retrieval failure, keeps the state, and retries on "yes"', async () => {
    const { ports, say, start } = setup({ beagle: seedsFor('beagle', 3) }, ['beagle']);
    const proposed = await start();
    ports.failRetrieve = new Error('retrieval service unavailable');
    let c = await say(proposed, 'yes');
    assert.equal(c.status, 'awaiting-subject');
    assert.equal(c.subject?.name, 'beagle');
    assert.match(lastAgentText(c), /retrieval service unavailable/);
    ports.failRetrieve = undefined;
    c = await say(c, 'yes');
    assert.equal(c.status, 'awaiting-seed');
  });

  it('when retrieval fails right after an automatic subject switch, leaves the new subject proposed so "yes" retries', async () => {
    const { ports, say, start } = setup({ beagle: seedsFor('beagle', 1), boxer: seedsFor('boxer', 2) }, ['beagle', 'boxer']);
    let c = await say(await start(), 'yes');
    ports.failRetrieve = new Error('search timed out');
    c = await say(c, 'different subject');
    assert.equal(c.status, 'awaiting-subject');
    assert.equal(c.subject?.name, 'boxer');
    assert.deepEqual(c.seeds, []);
    assert.equal(c.currentSeed, undefined);
    assert.match(lastAgentText(c), /search timed out/);
    ports.failRetrieve = undefined;
    c = await say(c, 'yes');
    assert.equal(c.currentSeed?.assetId, 'boxer-0');
  });

  it('times out a retrieval that never answers', async () => {
    const { ports, say, start } = setup({}, ['beagle'], { timeouts: { retrieveMs: 20 } });
    ports.hangRetrieve = true;
    const c = await say(await start(), 'yes');
    assert.equal(c.status, 'awaiting-subject');
    assert.match(lastAgentText(c), /longer than 20 ms/);
  });

  it('fails softly when no subject is left, and recovers when the user names one', async () => {
    const { say, start } = setup({ pug: seedsFor('pug', 2) }, ['beagle']);
    let c = await say(await start(), 'no');
    assert.equal(c.status, 'failed');
    assert.equal(c.subject, undefined);
    assert.match(lastAgentText(c), /show me a <subject>/);
    c = await say(c, 'show me pugs');
    assert.equal(c.status, 'awaiting-seed');
    assert.equal(c.currentSeed?.assetId, 'pug-0');
  });

  it('answers replies during generation without acting on them', async () => {
    const { ports, say, start } = setup({ beagle: seedsFor('beagle', 3) }, ['beagle']);
    const c = await say(await say(await start(), 'yes'), 'yes');
    const generating: Conversation = { ...c, status: 'generating' };
    const after = await say(generating, 'yes');
    assert.equal(after.status, 'generating');
    assert.equal(ports.generateCalls.length, 1);
  });

  it('rejects an empty segment with a message saying what to send', async () => {
    const { policy } = setup({}, ['beagle']);
    await assert.rejects(policy.start({ id: 'x', tenant: 'demo', segment: '   ' }), /segment must not be empty/);
  });

  it('keeps the headline and call to action given at the start and passes them to the generator', async () => {
    const { ports, policy, say } = setup({ beagle: seedsFor('beagle', 3) }, ['beagle']);
    let c = await policy.start({ id: 'c9', tenant: 'demo', segment: 'dog owners', headline: 'Walk further', callToAction: 'Shop now' });
    assert.deepEqual([c.headline, c.callToAction], ['Walk further', 'Shop now']);
    c = await say(c, 'yes');
    c = await say(c, 'yes');
    assert.equal(c.status, 'done');
    assert.deepEqual(ports.generateCalls.at(-1), {
      seedPath: 'seeds/beagle/0.jpg',
      subject: 'beagle',
      segment: 'dog owners',
      headline: 'Walk further',
      callToAction: 'Shop now',
    });
  });
});
