import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { CLIP_MAX_TOKENS, ClipTokenizer } from './clip-tokenizer';
import { sharedClipTokenizerDir } from './shared-clip-dir';

const tokenizer = ClipTokenizer.fromFile(join(sharedClipTokenizerDir(), 'tokenizer.json'));
const BOS = 49406;
const EOS = 49407;

describe(ClipTokenizer.name, () => {
  it('matches the reference ids from the model README', () => {
    assert.deepEqual(tokenizer.encode('a red image'), [BOS, 320, 736, 2867, EOS]);
    assert.deepEqual(tokenizer.encode('the word dog'), [BOS, 518, 2653, 1929, EOS]);
  });

  it('lower-cases and collapses whitespace like CLIP', () => {
    assert.deepEqual(tokenizer.encode('  A   RED\n\timage '), tokenizer.encode('a red image'));
  });

  it('splits digits one by one and contractions off their word', () => {
    const ids = tokenizer.encode("it's 2024");
    assert.equal(tokenizer.decode(ids), "it 's 2 0 2 4");
    assert.equal(ids.length, 2 + 6);
  });

  it('gives composed and decomposed accents the same tokens (NFC)', () => {
    assert.deepEqual(tokenizer.encode('cafe\u0301'), tokenizer.encode('caf\u00e9'));
    assert.notDeepEqual(tokenizer.encode('café'), tokenizer.encode('cafe'));
  });

  it('round-trips emoji and non-Latin text through byte-level BPE', () => {
    for (const text of ['🐶🎉 party', 'naïve façade', 'Ελληνικά', '日本語のテキスト', 'x\u0000y']) {
      const ids = tokenizer.encode(text);
      assert.ok(
        ids.every((id) => id >= 0 && id < tokenizer.vocabSize),
        text,
      );
      assert.equal(tokenizer.decode(ids).replace(/ /g, ''), text.toLowerCase().replace(/\s/g, ''), text);
    }
  });

  it('encodes empty and whitespace-only text as BOS, EOS', () => {
    assert.deepEqual(tokenizer.encode(''), [BOS, EOS]);
    assert.deepEqual(tokenizer.encode(' \n '), [BOS, EOS]);
  });

  it('truncates to 77 tokens and keeps EOS last', () => {
    const ids = tokenizer.encode('dog '.repeat(200));
    assert.equal(ids.length, CLIP_MAX_TOKENS);
    assert.equal(ids[0], BOS);
    assert.equal(ids[CLIP_MAX_TOKENS - 1], EOS);
    assert.ok(ids.slice(1, -1).every((id) => id === 1929));
  });

  it('pads a batch to its longest text with EOS and masks the padding', () => {
    const batch = tokenizer.encodeBatch(['a red image', 'dog']);
    assert.equal(batch.seqLen, 5);
    assert.equal(batch.batchSize, 2);
    assert.deepEqual(Array.from(batch.inputIds, Number), [BOS, 320, 736, 2867, EOS, BOS, 1929, EOS, EOS, EOS]);
    assert.deepEqual(Array.from(batch.attentionMask, Number), [1, 1, 1, 1, 1, 1, 1, 1, 0, 0]);
  });

  it('never pads beyond 77 tokens', () => {
    const batch = tokenizer.encodeBatch(['word '.repeat(500), 'short']);
    assert.equal(batch.seqLen, CLIP_MAX_TOKENS);
  });

  it('says which file is wrong when tokenizer.json is missing', () => {
    assert.throws(() => ClipTokenizer.fromFile('/nonexistent/tokenizer.json'), /\/nonexistent\/tokenizer\.json/);
  });
});
