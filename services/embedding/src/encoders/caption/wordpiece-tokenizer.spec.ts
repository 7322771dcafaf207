import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { before, describe, it } from 'node:test';

import { ensureCaptionModel } from '../../models/fetch-models';
import { WordPieceTokenizer } from './wordpiece-tokenizer';

/** A hand-made vocabulary: small enough to reason about every id below. */
function tinyTokenizer(maxLength?: number): WordPieceTokenizer {
  const tokens = [
    '[PAD]',
    '[UNK]',
    '[CLS]',
    '[SEP]',
    '[MASK]',
    'hello',
    'world',
    'un',
    '##aff',
    '##able',
    'cafe',
    ',',
    '!',
    '.',
    'naive',
    '東',
    '京',
    'a',
    '##b',
    'resume',
    '$',
    'ab',
  ];
  return WordPieceTokenizer.fromJson(
    {
      truncation: maxLength === undefined ? null : { max_length: maxLength },
      padding: null,
      added_tokens: [{ id: 4, content: '[MASK]' }],
      normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
      pre_tokenizer: { type: 'BertPreTokenizer' },
      post_processor: {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      },
      model: {
        type: 'WordPiece',
        unk_token: '[UNK]',
        continuing_subword_prefix: '##',
        max_input_chars_per_word: 10,
        vocab: Object.fromEntries(tokens.map((t, i) => [t, i])),
      },
    },
    {},
  );
}

describe(WordPieceTokenizer.name, () => {
  describe('rules, on a hand-made vocabulary', () => {
    const tok = tinyTokenizer();

    it('wraps in [CLS] … [SEP] and splits words greedily, longest piece first', () => {
      assert.deepEqual(tok.tokenize('unaffable hello'), ['un', '##aff', '##able', 'hello']);
      assert.deepEqual(tok.encode('hello world'), [2, 5, 6, 3]);
      // "ab" is in the vocabulary as a whole, so it must win over "a" + "##b".
      assert.deepEqual(tok.tokenize('ab'), ['ab']);
      assert.deepEqual(tok.tokenize('abb'), ['ab', '##b']);
    });

    it('lower-cases and strips accents', () => {
      assert.equal(tok.normalize('Café NAÏVE Résumé'), 'cafe naive resume');
      assert.deepEqual(tok.tokenize('CAFÉ'), ['cafe']);
    });

    it('isolates punctuation, including ASCII symbols Unicode files under S*', () => {
      assert.deepEqual(tok.preTokenize('hello,world!$5'), ['hello', ',', 'world', '!', '$', '5']);
      assert.deepEqual(tok.tokenize('hello, world.'), ['hello', ',', 'world', '.']);
    });

    it('puts spaces around CJK ideographs', () => {
      assert.deepEqual(tok.tokenize('東京'), ['東', '京']);
    });

    it('drops control characters and maps all whitespace to spaces', () => {
      assert.equal(tok.normalize('a\u0000b\u200bc\td\u00a0e'), 'abc d e');
    });

    it('turns a word with an unmatchable part, or one too long, into a single [UNK]', () => {
      assert.deepEqual(tok.tokenize('hellox world'), ['[UNK]', 'world']);
      assert.deepEqual(tok.tokenize('😀'), ['[UNK]']);
      assert.deepEqual(tok.tokenize('ab'.repeat(6)), ['[UNK]']); // 12 chars > max_input_chars_per_word 10
    });

    it('keeps added tokens found in the raw text', () => {
      assert.deepEqual(tok.encode('hello [MASK]'), [2, 5, 4, 3]);
    });

    it('truncates content so the sequence, specials included, fits maxLength', () => {
      const short = tinyTokenizer(5);
      assert.deepEqual(short.encode('hello world hello world'), [2, 5, 6, 5, 3]);
      assert.equal(tok.maxLength, 256, 'without a truncation block the default is 256');
    });

    it('pads a batch to its longest row, with mask and zero token types', () => {
      const batch = tok.encodeBatch(['hello', 'hello world !']);
      assert.equal(batch.sequenceLength, 5);
      assert.deepEqual(Array.from(batch.inputIds, Number), [2, 5, 3, 0, 0, 2, 5, 6, 12, 3]);
      assert.deepEqual(Array.from(batch.attentionMask, Number), [1, 1, 1, 0, 0, 1, 1, 1, 1, 1]);
      assert.ok(batch.tokenTypeIds.every((v) => v === 0n));
    });

    it('rejects a tokenizer.json of another model family with the field to fix', () => {
      assert.throws(() => WordPieceTokenizer.fromJson({ model: { type: 'BPE', vocab: {} } }), /model\.type must be "WordPiece"/);
      assert.throws(() => WordPieceTokenizer.fromJson({ model: { type: 'WordPiece', vocab: { hello: 0 } } }), /lacks "\[UNK\]"/);
    });
  });

  describe('all-MiniLM-L6-v2 tokenizer.json', () => {
    let tok: WordPieceTokenizer;
    before(async () => {
      const repoRoot = resolve(__dirname, '../../../../..');
      const modelDir = await ensureCaptionModel(join(repoRoot, '.cache'));
      tok = await WordPieceTokenizer.fromFile(join(modelDir, 'tokenizer.json'));
    });

    it('agrees with bert-base-uncased ids for "hello world"', () => {
      assert.equal(tok.vocabSize, 30522);
      assert.deepEqual(tok.encode('hello world'), [101, 7592, 2088, 102]);
      assert.equal(tok.maxLength, 128, 'the file truncates at 128');
    });

    // Expected ids were computed by the Hugging Face `tokenizers` crate (0.23) on the same file.
    const reference: Array<[string, number[]]> = [
      ['Hello, World!', [101, 7592, 1010, 2088, 999, 102]],
      ['Café crème brûlée', [101, 7668, 13675, 21382, 7987, 9307, 2063, 102]],
      ['naïve résumé', [101, 15743, 13746, 102]],
      ['a photo of a beagle', [101, 1037, 6302, 1997, 1037, 26892, 9354, 102]],
      ['I like 東京 and 北京!', [101, 1045, 2066, 1879, 1755, 1998, 1781, 1755, 999, 102]],
      ['emoji 😀 here 🐶', [101, 7861, 29147, 2072, 100, 2182, 100, 102]],
      ['[MASK] token and [CLS] inside', [101, 103, 19204, 1998, 101, 2503, 102]],
    ];
    for (const [text, ids] of reference) {
      it(`encodes ${JSON.stringify(text)} as the reference implementation does`, () => {
        assert.deepEqual(tok.encode(text), ids);
      });
    }

    it('truncates a long text to 128 ids ending in [SEP]', () => {
      const ids = tok.encode('word '.repeat(300));
      assert.equal(ids.length, 128);
      assert.equal(ids[127], 102);
    });
  });
});
