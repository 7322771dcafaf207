import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { captionHead, phrasesOf, subjectKey } from './subject-phrases';
import { bagOfWordsEmbedder, catalogueForTests } from './catalogue.test-kit';
import { LibrarySubjectProposer } from './library-subject.proposer';
import { TenantCatalogue } from './tenant-catalogue';

describe('subject phrases', () => {
  const heads: [string, string | undefined][] = [
    ['Red running shoes on a wooden floor', 'red running shoes'],
    ['A road bike leaning on a brick wall', 'road bike'],
    ['Two coffee mugs, steam rising', 'coffee mugs'],
    ['The Eiffel Tower at night', 'eiffel tower'],
    ['Café crème, Paris', 'café crème'],
    ['A tent pitched by a lake at dusk', 'tent'],
    ['big bright modern minimalist scandinavian living room', undefined],
    ['2024', undefined],
  ];
  for (const [caption, head] of heads) {
    it(`the head of ${JSON.stringify(caption)} is ${head ?? 'nothing'}`, () => assert.equal(captionHead(caption), head));
  }

  it('keys ignore case, punctuation, underscores and a plural last word', () => {
    assert.equal(subjectKey('Running-Shoes'), subjectKey('running shoe'));
    assert.equal(subjectKey('english_cocker_spaniel'), 'english cocker spaniel');
    assert.equal(subjectKey('Glasses'), 'glass');
    assert.notEqual(subjectKey('running shoe'), subjectKey('red running shoe'));
  });

  it('an asset contributes its short tags and its caption head, once each', () => {
    assert.deepEqual(phrasesOf({ caption: 'Running shoes on a track', tags: ['running_shoes', 'sport', 'a tag that is far too long to be a subject'] }), [
      'running shoes',
      'sport',
    ]);
  });
});

describe(TenantCatalogue.name, () => {
  const asset = (i: number, caption: string, tags: string[] = []) => ({ assetId: `a${i}`, path: `seeds/t/${i}.jpg`, caption, tags });

  it('counts seeds per subject, follows updates and deletes, and ignores a repeated event', () => {
    const c = new TenantCatalogue('t');
    assert.equal(c.applyIndexed(asset(1, 'A camping tent by a lake', ['camping'])), true);
    assert.equal(c.applyIndexed(asset(1, 'A camping tent by a lake', ['camping'])), false, 'same event twice changes nothing');
    c.applyIndexed(asset(2, 'Camping tents in the snow'));
    const tent = c.byName('camping tent')!;
    assert.equal(c.toSubject(tent).seedCount, 2);
    assert.equal(c.toSubject(c.byName('camping')!).seedCount, 1);

    c.applyIndexed(asset(2, 'A kayak on a river'));
    assert.equal(c.toSubject(tent).seedCount, 1, 'a changed caption moves the asset');
    assert.equal(c.toSubject(c.byName('kayak')!).seedCount, 1);

    c.applyDeleted('a1');
    assert.equal(c.byName('camping tent'), undefined, 'a library subject with no seeds left goes');
    assert.equal(c.byName('camping'), undefined);
    assert.deepEqual(
      c.all().map((e) => c.nameOf(e)),
      ['kayak'],
    );
  });

  it('ignores an index of an ingest requested before the asset’s deletion, arriving after it; remembers deletions for a day, also in snapshots', () => {
    let now = Date.parse('2026-12-03T10:00:00.000Z');
    const at = (ms: number) => new Date(Date.parse('2026-12-03T10:00:00.000Z') + ms).toISOString();
    const c = new TenantCatalogue('t', () => new Date(now));
    c.applyIndexed({ ...asset(1, 'A camping tent by a lake'), requestedAt: at(-2_000) });
    assert.equal(c.applyDeleted('a1', at(0)), true);
    assert.equal(c.applyIndexed({ ...asset(1, 'A camping tent by a lake'), requestedAt: at(-1_000) }), false, 'in flight when it was deleted');
    assert.equal(c.applyIndexed({ ...asset(1, 'A camping tent by a lake'), requestedAt: at(0) }), false, 'requested at the same instant');
    assert.equal(c.byName('camping tent'), undefined);
    assert.equal(c.applyDeleted('a2', at(0)), true, 'a deletion that arrives before the asset’s index is remembered too');
    assert.equal(c.applyDeleted('a2', at(0)), false, 'the same deletion twice changes nothing');
    assert.equal(c.applyIndexed({ ...asset(2, 'A kayak on a river'), requestedAt: at(-1) }), false);

    const restored = TenantCatalogue.restore(JSON.parse(JSON.stringify(c.snapshot())) as ReturnType<TenantCatalogue['snapshot']>, () => new Date(now));
    assert.equal(restored.applyIndexed({ ...asset(1, 'A camping tent by a lake'), requestedAt: at(-1_000) }), false, 'the snapshot keeps the deletion');
    assert.equal(restored.applyIndexed({ ...asset(1, 'A camping tent by a lake'), requestedAt: at(1) }), true, 'uploaded again after the deletion');
    assert.equal(restored.toSubject(restored.byName('camping tent')!).seedCount, 1);

    now += 24 * 60 * 60 * 1000 + 1;
    assert.equal(restored.applyIndexed({ ...asset(2, 'A kayak on a river'), requestedAt: at(-1) }), true, 'a deletion older than a day is forgotten');
    assert.deepEqual(restored.snapshot().deleted, [], 'and left out of the snapshot');
  });

  it('keeps an asset uploaded again, changed, after its deletion when the deletion arrives late', () => {
    const at = (ms: number) => new Date(Date.parse('2026-12-03T10:00:00.000Z') + ms).toISOString();
    const c = new TenantCatalogue('t', () => new Date(at(60_000)));
    c.applyIndexed({ ...asset(1, 'A camping tent by a lake'), requestedAt: at(-5_000) });
    assert.equal(c.applyIndexed({ ...asset(1, 'A kayak on a river'), requestedAt: at(1_000) }), true, 'uploaded again, changed');
    assert.equal(c.applyDeleted('a1', at(0)), true, 'the late deletion is remembered');
    assert.equal(c.toSubject(c.byName('kayak')!).seedCount, 1, 'the upload after it stays');

    const restored = TenantCatalogue.restore(JSON.parse(JSON.stringify(c.snapshot())) as ReturnType<TenantCatalogue['snapshot']>, () => new Date(at(60_000)));
    restored.applyDeleted('a1', at(500));
    assert.equal(restored.toSubject(restored.byName('kayak')!).seedCount, 1, 'the snapshot kept the request time');
    restored.applyDeleted('a1', at(3_000));
    assert.equal(restored.byName('kayak'), undefined, 'a deletion after the request removes it');
  });

  it('keeps edits by name, so they apply to a subject that appears later, and keeps an edited subject when its seeds go', () => {
    const c = new TenantCatalogue('t');
    c.edit('Coffee Mugs', { description: 'The first coffee of the day', audience: 'people working from home' });
    c.applyIndexed(asset(1, 'A coffee mug on a desk'));
    const subject = c.toSubject(c.byName('coffee mug')!);
    assert.equal(subject.description, 'The first coffee of the day');
    assert.equal(subject.audience, 'people working from home');
    c.applyDeleted('a1');
    assert.equal(c.toSubject(c.byName('coffee mug')!).seedCount, 0);
  });

  it('survives a snapshot round trip with the same subjects, ids, edits and gaps', () => {
    const c = new TenantCatalogue('t');
    c.applyIndexed(asset(1, 'Red running shoes on a track', ['shoes']));
    c.applyIndexed(asset(2, 'Running shoes by the door'));
    c.edit('running shoes', { disabled: true });
    c.recordGap('segment', 'Retired sailors', 0.12);
    c.recordGap('segment', 'retired sailors!', 0.2);
    const restored = TenantCatalogue.restore(JSON.parse(JSON.stringify(c.snapshot())));
    const list = (x: TenantCatalogue) =>
      x
        .all()
        .map((e) => x.toSubject(e))
        .sort((a, b) => a.id.localeCompare(b.id));
    assert.deepEqual(list(restored), list(c));
    assert.deepEqual(restored.seedGaps(10), c.seedGaps(10));
    assert.equal(c.seedGaps(10)[0].count, 2);
    assert.equal(c.seedGaps(10)[0].bestScore, 0.2);
  });
});

describe('SubjectCatalogueService', () => {
  it('merges near duplicates by the sentence encoder, keeping the name most seeds carry', async () => {
    const { service } = catalogueForTests({ mergeCosine: 0.8 });
    await service.update('t', (c) => {
      c.applyIndexed({ assetId: 'a1', path: 'seeds/t/1.jpg', caption: 'Red running shoes on a track' });
      c.applyIndexed({ assetId: 'a2', path: 'seeds/t/2.jpg', caption: 'Running shoe by the door' });
      c.applyIndexed({ assetId: 'a3', path: 'seeds/t/3.jpg', caption: 'Running shoes at dawn' });
      c.applyIndexed({ assetId: 'a4', path: 'seeds/t/4.jpg', caption: 'A camping tent by a lake' });
    });
    const subjects = await service.list('t', false);
    assert.deepEqual(
      subjects.map((s) => [s.name, s.seedCount]),
      [
        ['running shoe', 3],
        ['camping tent', 1],
      ],
    );
    assert.deepEqual(subjects[0].aliases, ['red running shoes']);
  });

  it('writes its snapshot to the object store and a new instance resumes from it', async () => {
    const first = catalogueForTests();
    await first.service.update('t', (c) => c.applyIndexed({ assetId: 'a1', path: 'seeds/t/1.jpg', tags: ['espresso machine'] }));
    await first.service.flush();
    const second = catalogueForTests({ dir: first.dir });
    assert.deepEqual(
      (await second.service.list('t', false)).map((s) => s.name),
      ['espresso machine'],
    );
    assert.deepEqual(await second.service.list('other-tenant', false), [], 'tenants never share subjects');
  });
});

describe(LibrarySubjectProposer.name, () => {
  async function library(evidence: { assetId: string }[] = []) {
    const embedTexts = bagOfWordsEmbedder();
    const { service } = catalogueForTests({ embedTexts });
    const rows = [
      ['running shoes', 'Light shoes for people who run before work'],
      ['camping tent', 'Sleeps two; for weekend campers'],
      ['coffee mug', 'The first coffee of a working day at home'],
      ['road bike', undefined],
    ] as const;
    await service.update('t', (c) =>
      rows.forEach(([name, description], i) => {
        c.applyIndexed({ assetId: `a${i}`, path: `seeds/t/${i}.jpg`, tags: [name] });
        if (description) c.edit(name, { description });
      }),
    );
    const searched: string[] = [];
    const proposer = new LibrarySubjectProposer({
      catalogue: service,
      embedTexts,
      searchSeeds: async (_t, text) => (searched.push(text), evidence),
      segmentFloor: 0.2,
    });
    return { proposer, service, searched };
  }

  it("proposes the tenant's subject whose name and description fit the segment, with the description as the reason", async () => {
    const { proposer } = await library();
    assert.deepEqual(await proposer.propose('weekend campers', [], 't'), { name: 'camping tent', reason: 'Sleeps two; for weekend campers.' });
    assert.equal((await proposer.propose('coffee lovers working from home', [], 't')).name, 'coffee mug');
    assert.equal((await proposer.propose('weekend campers', ['camping tent'], 't')).name === 'camping tent', false, 'never an excluded subject');
  });

  it('ranks subjects whose seeds the segment itself retrieves higher, and says how many photos when there is no description', async () => {
    const { proposer, searched } = await library([{ assetId: 'a3' }]);
    const proposal = await proposer.propose('commuters', [], 't');
    assert.deepEqual(proposal, { name: 'road bike', reason: 'Your library has 1 photo of road bike.' });
    assert.deepEqual(searched, ['commuters']);
  });

  it('records a segment nothing fits as a seed gap, and a library with no subjects as one too', async () => {
    const { proposer, service } = await library();
    const proposal = await proposer.propose('retired sailors', [], 't');
    assert.match(proposal.reason, /Nothing in your library fits this segment closely/);
    const [gap] = (await service.read('t')).seedGaps(10);
    assert.equal(gap.kind, 'segment');
    assert.equal(gap.text, 'retired sailors');
    await assert.rejects(proposer.propose('anyone', [], 'empty-tenant'), /no subjects yet/);
  });

  it('never proposes a disabled subject', async () => {
    const { proposer, service } = await library();
    const tent = (await service.read('t')).byName('camping tent')!;
    await service.edit('t', tent, { disabled: true });
    assert.notEqual((await proposer.propose('weekend campers', [], 't')).name, 'camping tent');
  });
});
