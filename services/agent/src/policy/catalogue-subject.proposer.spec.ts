import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { normalizeWords } from './catalogue-subject.matcher';
import { CatalogueSubjectProposer, EmbedTexts } from './catalogue-subject.proposer';
import { SubjectsExhaustedError } from './conversation.model';
import { describeSubject, PET_BREED_CATALOGUE, reasonFor } from './pet-breed.catalogue';

const DIMS = 128;

/** A deterministic stand-in for a sentence encoder: hashed bag of words, so shared words mean similar vectors. */
function bagOfWords(text: string): Float32Array {
  const v = new Float32Array(DIMS);
  for (const word of normalizeWords(text).split(' ')) {
    let h = 2166136261;
    for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 16777619);
    v[(h >>> 0) % DIMS] += 1;
  }
  return v;
}

function recordingEmbedder(): { embedTexts: EmbedTexts; calls: string[][]; failNext: number } {
  const state = {
    calls: [] as string[][],
    failNext: 0,
    embedTexts: async (texts: string[]) => {
      state.calls.push(texts);
      if (state.failNext > 0) {
        state.failNext--;
        throw new Error('embedding service unavailable');
      }
      return texts.map(bagOfWords);
    },
  };
  return state;
}

const byName = (name: string) => {
  const s = PET_BREED_CATALOGUE.find((c) => c.name === name);
  if (!s) throw new Error(`no ${name} in the catalogue`);
  return s;
};
const speciesOf = (name: string) => byName(name).species;

describe('PET_BREED_CATALOGUE', () => {
  it('holds the 37 Oxford-IIIT Pet breeds, 12 cats capitalised and 25 dogs in lower_snake_case', () => {
    const names = PET_BREED_CATALOGUE.map((s) => s.name);
    assert.equal(new Set(names).size, 37);
    const cats = PET_BREED_CATALOGUE.filter((s) => s.species === 'cat');
    assert.equal(cats.length, 12);
    assert.ok(cats.every((s) => /^[A-Z][A-Za-z_]+$/.test(s.name)));
    assert.ok(PET_BREED_CATALOGUE.filter((s) => s.species === 'dog').every((s) => /^[a-z_]+$/.test(s.name)));
  });

  const manifest = join(__dirname, '../../../../../shared/datasets/oxford-pets-sample/manifest.csv');
  const sharedManifest = manifest;
  it('spells every breed as the dataset manifest does', { skip: !existsSync(sharedManifest) && 'dataset manifest not present' }, () => {
    const rows = readFileSync(sharedManifest, 'utf8').trim().split('\n').slice(1).map((line) => line.split(','));
    const fromManifest = new Map(rows.map(([, breed, species]) => [breed, species]));
    assert.deepEqual([...fromManifest.keys()].sort(), PET_BREED_CATALOGUE.map((s) => s.name).sort());
    for (const s of PET_BREED_CATALOGUE) assert.equal(fromManifest.get(s.name), s.species, s.name);
  });
});

describe(CatalogueSubjectProposer.name, () => {
  it('proposes the subject whose description is closest to the segment, with a reason from that description', async () => {
    const embedder = recordingEmbedder();
    const proposer = new CatalogueSubjectProposer({ embedTexts: embedder.embedTexts });
    const keeshond = byName('keeshond');
    const proposal = await proposer.propose(describeSubject(keeshond), []);
    assert.deepEqual(proposal, { name: 'keeshond', reason: reasonFor(keeshond) });
    assert.equal(proposer.lastError, undefined);
  });

  it('never proposes an excluded subject (case-insensitive) and is deterministic', async () => {
    const proposer = new CatalogueSubjectProposer({ embedTexts: recordingEmbedder().embedTexts });
    const segment = describeSubject(byName('keeshond'));
    const first = await proposer.propose(segment, ['KEESHOND']);
    const again = await proposer.propose(segment, ['keeshond']);
    assert.notEqual(first.name, 'keeshond');
    assert.deepEqual(again, first);
    const ranked = await proposer.rank(segment);
    assert.equal(first.name, ranked[1].subject.name, 'the runner-up takes the excluded subject\'s place');
  });

  it('embeds the catalogue once and only the segment on later proposals', async () => {
    const embedder = recordingEmbedder();
    const proposer = new CatalogueSubjectProposer({ embedTexts: embedder.embedTexts });
    await proposer.propose('families with kids', []);
    await proposer.propose('city dwellers', ['pug']);
    await proposer.propose('hikers', []);
    const catalogueCalls = embedder.calls.filter((c) => c.length === PET_BREED_CATALOGUE.length);
    assert.equal(catalogueCalls.length, 1);
    assert.deepEqual(embedder.calls.filter((c) => c.length === 1), [['families with kids'], ['city dwellers'], ['hikers']]);
  });

  it('keeps to the species a segment names', async () => {
    const proposer = new CatalogueSubjectProposer({ embedTexts: recordingEmbedder().embedTexts });
    // "families" pulls towards dogs in the descriptions; "cat" must still win
    const proposal = await proposer.propose('cat for families with kids', []);
    assert.equal(speciesOf(proposal.name), 'cat');
  });

  it('falls back to keywords when embedTexts throws, exposes lastError, and retries the encoder next time', async () => {
    const embedder = recordingEmbedder();
    embedder.failNext = 2; // the catalogue and the segment call of the first proposal
    const proposer = new CatalogueSubjectProposer({ embedTexts: embedder.embedTexts });
    const fallback = await proposer.propose('outdoor-loving dog owners', []);
    assert.match(proposer.lastError?.message ?? '', /embedding service unavailable/);
    assert.equal(speciesOf(fallback.name), 'dog');

    await proposer.propose('outdoor-loving dog owners', []);
    assert.equal(proposer.lastError, undefined);
    assert.equal(embedder.calls.filter((c) => c.length === PET_BREED_CATALOGUE.length).length, 2, 'the failed catalogue embedding is retried');
  });

  it('treats a wrong number of vectors as an encoder failure', async () => {
    const proposer = new CatalogueSubjectProposer({ embedTexts: async (texts) => texts.slice(1).map(bagOfWords) });
    const proposal = await proposer.propose('cat lovers in small apartments', []);
    assert.match(proposer.lastError?.message ?? '', /returned 36 vectors for 37 texts/);
    assert.equal(speciesOf(proposal.name), 'cat');
  });

  it('throws SubjectsExhaustedError when every subject is excluded', async () => {
    const proposer = new CatalogueSubjectProposer();
    await assert.rejects(proposer.propose('anyone', PET_BREED_CATALOGUE.map((s) => s.displayName)), SubjectsExhaustedError);
  });

  describe('keyword scorer (no encoder)', () => {
    const proposer = new CatalogueSubjectProposer();

    it('gives a dog for "outdoor-loving dog owner": the hiking pointer', async () => {
      const proposal = await proposer.propose('outdoor-loving dog owner', []);
      assert.equal(speciesOf(proposal.name), 'dog');
      assert.equal(proposal.name, 'german_shorthaired');
      assert.equal(proposal.reason, 'Energetic, outdoorsy and great on long hikes and runs — fits outdoor-loving dog owners, hikers and runners.');
    });

    it('gives a cat for "cat lovers in small apartments"', async () => {
      const proposal = await proposer.propose('cat lovers in small apartments', []);
      assert.equal(speciesOf(proposal.name), 'cat');
      assert.match(describeSubject(byName(proposal.name)), /apartment/);
    });

    it('gives a small apartment dog to city singles, and a family dog to parents', async () => {
      const city = await proposer.propose('singles in small city apartments who want a dog', []);
      assert.equal(speciesOf(city.name), 'dog');
      assert.match(describeSubject(byName(city.name)), /apartment/);
      const family = await proposer.propose('parents looking for a dog for the kids', []);
      assert.match(describeSubject(byName(family.name)), /famil|kids|children/);
    });

    it('proposes a breed the segment names outright', async () => {
      assert.equal((await proposer.propose('proud Samoyed owners', [])).name, 'samoyed');
    });
  });
});
