import { readFile } from 'node:fs/promises';

/**
 * BERT-style uncased WordPiece tokenizer driven by a Hugging Face `tokenizer.json`
 * (BertNormalizer + BertPreTokenizer + WordPiece + [CLS]/[SEP] template).
 *
 * It mirrors the behaviour of the Rust `tokenizers` crate closely enough to reproduce its ids
 * for the all-MiniLM-L6-v2 vocabulary; the spec checks ids computed by that crate.
 */

export interface WordPieceTokenizerOptions {
  /** Maximum sequence length including [CLS] and [SEP]; defaults to the file's truncation, else 256. */
  readonly maxLength?: number;
}

/** A padded batch, row-major `[batchSize, sequenceLength]`, in the int64 layout ONNX BERT models take. */
export interface EncodedBatch {
  readonly batchSize: number;
  readonly sequenceLength: number;
  readonly inputIds: BigInt64Array;
  readonly attentionMask: BigInt64Array;
  readonly tokenTypeIds: BigInt64Array;
}

const DEFAULT_MAX_LENGTH = 256;

interface NormalizerConfig {
  readonly cleanText: boolean;
  readonly handleChineseChars: boolean;
  readonly stripAccents: boolean;
  readonly lowercase: boolean;
}

interface AddedToken {
  readonly content: string;
  readonly id: number;
}

// Character classes of the Rust `tokenizers` BertNormalizer / BertPreTokenizer.
const WHITESPACE = /\p{White_Space}/u;
// The Rust crate's `is_other` tables leave unassigned code points (Cn) out: they are kept, so keep them too.
const OTHER = /[\p{Cc}\p{Cf}\p{Co}\p{Cs}]/u;
const NONSPACING_MARK = /\p{Mn}/gu;
const UNICODE_PUNCTUATION = /\p{P}/u;
const ASCII_PUNCTUATION = /[!-/:-@[-`{-~]/;

function isWhitespace(ch: string): boolean {
  return ch === '\t' || ch === '\n' || ch === '\r' || WHITESPACE.test(ch);
}

function isControl(ch: string): boolean {
  if (ch === '\t' || ch === '\n' || ch === '\r') return false;
  return OTHER.test(ch);
}

function isPunctuation(ch: string): boolean {
  return ASCII_PUNCTUATION.test(ch) || UNICODE_PUNCTUATION.test(ch);
}

/** The CJK Unified Ideographs blocks BERT puts spaces around (not Hangul, not kana). */
function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b920 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export class WordPieceTokenizer {
  readonly maxLength: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  readonly unkId: number;

  private readonly idByToken: ReadonlyMap<string, number>;
  private readonly tokenById: readonly string[];
  private readonly unkToken: string;
  private readonly prefix: string;
  private readonly maxCharsPerWord: number;
  private readonly normalizer: NormalizerConfig;
  private readonly addedTokens: ReadonlyMap<string, number>;
  private readonly addedTokenPattern: RegExp | undefined;

  private constructor(init: {
    vocab: Map<string, number>;
    unkToken: string;
    prefix: string;
    maxCharsPerWord: number;
    normalizer: NormalizerConfig;
    addedTokens: AddedToken[];
    clsToken: string;
    sepToken: string;
    padId: number | undefined;
    maxLength: number;
  }) {
    this.idByToken = init.vocab;
    const tokenById: string[] = [];
    for (const [token, id] of init.vocab) tokenById[id] = token;
    this.tokenById = tokenById;
    this.unkToken = init.unkToken;
    this.prefix = init.prefix;
    this.maxCharsPerWord = init.maxCharsPerWord;
    this.normalizer = init.normalizer;
    this.unkId = this.requireId(init.unkToken, 'model.unk_token');
    this.clsId = this.requireId(init.clsToken, 'post_processor [CLS]');
    this.sepId = this.requireId(init.sepToken, 'post_processor [SEP]');
    this.padId = init.padId ?? this.idByToken.get('[PAD]') ?? 0;
    if (!Number.isInteger(init.maxLength) || init.maxLength < 3) {
      throw new Error(`maxLength must be an integer >= 3 (room for [CLS], one token, [SEP]); got ${init.maxLength}`);
    }
    this.maxLength = init.maxLength;
    this.addedTokens = new Map(init.addedTokens.map((t) => [t.content, t.id]));
    // Longest first so that "[MASK]" wins over a hypothetical "[MA".
    const contents = [...this.addedTokens.keys()].sort((a, b) => b.length - a.length);
    this.addedTokenPattern = contents.length > 0 ? new RegExp(`(${contents.map(escapeRegExp).join('|')})`) : undefined;
  }

  static async fromFile(path: string, options: WordPieceTokenizerOptions = {}): Promise<WordPieceTokenizer> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw new Error(`cannot read tokenizer file ${path}: ${(err as Error).message}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new Error(`tokenizer file ${path} is not valid JSON: ${(err as Error).message}`);
    }
    return WordPieceTokenizer.fromJson(json, options);
  }

  /** Builds the tokenizer from a parsed Hugging Face `tokenizer.json`; rejects anything but a WordPiece model. */
  static fromJson(json: unknown, options: WordPieceTokenizerOptions = {}): WordPieceTokenizer {
    if (!isRecord(json) || !isRecord(json.model)) {
      throw new Error('tokenizer.json must be an object with a "model" object');
    }
    const model = json.model;
    if (model.type !== undefined && model.type !== 'WordPiece') {
      throw new Error(`tokenizer.json model.type must be "WordPiece"; got ${JSON.stringify(model.type)}`);
    }
    if (!isRecord(model.vocab)) throw new Error('tokenizer.json model.vocab must be an object of token -> id');
    const vocab = new Map<string, number>();
    for (const [token, id] of Object.entries(model.vocab)) {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
        throw new Error(`tokenizer.json model.vocab[${JSON.stringify(token)}] must be a non-negative integer`);
      }
      vocab.set(token, id);
    }

    const normalizer = isRecord(json.normalizer) ? json.normalizer : {};
    if (json.normalizer !== null && json.normalizer !== undefined && normalizer.type !== 'BertNormalizer') {
      throw new Error(`tokenizer.json normalizer.type must be "BertNormalizer"; got ${JSON.stringify(normalizer.type)}`);
    }
    const lowercase = normalizer.lowercase !== false;
    // As in the Rust crate: strip_accents null/absent follows lowercase.
    const stripAccents = typeof normalizer.strip_accents === 'boolean' ? normalizer.strip_accents : lowercase;

    const addedTokens: AddedToken[] = [];
    if (Array.isArray(json.added_tokens)) {
      for (const t of json.added_tokens) {
        if (isRecord(t) && typeof t.content === 'string' && typeof t.id === 'number' && t.content.length > 0) {
          addedTokens.push({ content: t.content, id: t.id });
        }
      }
    }

    let clsToken = '[CLS]';
    let sepToken = '[SEP]';
    const post = json.post_processor;
    if (isRecord(post)) {
      if (post.type === 'BertProcessing') {
        if (Array.isArray(post.cls) && typeof post.cls[0] === 'string') clsToken = post.cls[0];
        if (Array.isArray(post.sep) && typeof post.sep[0] === 'string') sepToken = post.sep[0];
      } else if (post.type === 'TemplateProcessing' && Array.isArray(post.single)) {
        // Expect exactly [special, A, special]; anything else is a different model family.
        const specials = post.single.filter(isRecord).map((piece) => (isRecord(piece.SpecialToken) ? piece.SpecialToken.id : undefined));
        if (specials.length !== 3 || typeof specials[0] !== 'string' || typeof specials[2] !== 'string') {
          throw new Error('tokenizer.json post_processor.single must be [SpecialToken, Sequence A, SpecialToken]');
        }
        clsToken = specials[0];
        sepToken = specials[2];
      }
    }

    const padding = isRecord(json.padding) ? json.padding : {};
    const truncation = isRecord(json.truncation) ? json.truncation : {};
    const fileMaxLength = typeof truncation.max_length === 'number' ? truncation.max_length : undefined;

    return new WordPieceTokenizer({
      vocab,
      unkToken: typeof model.unk_token === 'string' ? model.unk_token : '[UNK]',
      prefix: typeof model.continuing_subword_prefix === 'string' ? model.continuing_subword_prefix : '##',
      maxCharsPerWord: typeof model.max_input_chars_per_word === 'number' ? model.max_input_chars_per_word : 100,
      normalizer: {
        cleanText: normalizer.clean_text !== false,
        handleChineseChars: normalizer.handle_chinese_chars !== false,
        stripAccents,
        lowercase,
      },
      addedTokens,
      clsToken,
      sepToken,
      padId: typeof padding.pad_id === 'number' ? padding.pad_id : undefined,
      maxLength: options.maxLength ?? fileMaxLength ?? DEFAULT_MAX_LENGTH,
    });
  }

  get vocabSize(): number {
    return this.idByToken.size;
  }

  tokenToId(token: string): number | undefined {
    return this.idByToken.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.tokenById[id];
  }

  /** Clean text, CJK spacing, accent stripping, lower-casing: the BertNormalizer steps in its order. */
  normalize(text: string): string {
    const cfg = this.normalizer;
    let out = '';
    for (const ch of text) {
      const cp = ch.codePointAt(0) ?? 0;
      if (cfg.cleanText) {
        if (cp === 0 || cp === 0xfffd || isControl(ch)) continue;
        if (isWhitespace(ch)) {
          out += ' ';
          continue;
        }
      }
      out += cfg.handleChineseChars && isChineseChar(cp) ? ` ${ch} ` : ch;
    }
    if (cfg.stripAccents) out = out.normalize('NFD').replace(NONSPACING_MARK, '');
    // Per character, as upstream: String#toLowerCase would turn a word-final Σ into ς, upstream keeps σ.
    if (cfg.lowercase) out = Array.from(out, (ch) => ch.toLowerCase()).join('');
    return out;
  }

  /** Splits on whitespace (dropped) and isolates every punctuation character. */
  preTokenize(normalized: string): string[] {
    const words: string[] = [];
    let current = '';
    for (const ch of normalized) {
      if (isWhitespace(ch)) {
        if (current) words.push(current);
        current = '';
      } else if (isPunctuation(ch)) {
        if (current) words.push(current);
        words.push(ch);
        current = '';
      } else {
        current += ch;
      }
    }
    if (current) words.push(current);
    return words;
  }

  /** Greedy longest-match-first; a word with any unmatchable remainder becomes a single [UNK]. */
  wordPiece(word: string): string[] {
    const chars = Array.from(word);
    if (chars.length > this.maxCharsPerWord) return [this.unkToken];
    const pieces: string[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let found: string | undefined;
      while (start < end) {
        const candidate = (start > 0 ? this.prefix : '') + chars.slice(start, end).join('');
        if (this.idByToken.has(candidate)) {
          found = candidate;
          break;
        }
        end--;
      }
      if (found === undefined) return [this.unkToken];
      pieces.push(found);
      start = end;
    }
    return pieces;
  }

  /** Word pieces of `text` without [CLS]/[SEP] and without truncation. */
  tokenize(text: string): string[] {
    return this.tokenizeToIds(text).map((id) => this.tokenById[id] ?? this.unkToken);
  }

  /** `[CLS] ids… [SEP]`, content truncated from the right so the whole fits in maxLength. */
  encode(text: string): number[] {
    const ids = this.tokenizeToIds(text);
    const room = this.maxLength - 2;
    return [this.clsId, ...(ids.length > room ? ids.slice(0, room) : ids), this.sepId];
  }

  /** Encodes and right-pads to the longest sequence in the batch (not to maxLength: shorter is faster). */
  encodeBatch(texts: readonly string[]): EncodedBatch {
    if (texts.length === 0) throw new Error('encodeBatch needs at least one text');
    const encoded = texts.map((t) => this.encode(t));
    const sequenceLength = Math.max(...encoded.map((ids) => ids.length));
    const size = texts.length * sequenceLength;
    const inputIds = new BigInt64Array(size).fill(BigInt(this.padId));
    const attentionMask = new BigInt64Array(size);
    // Single-sequence inputs: every token type is 0, padding too.
    const tokenTypeIds = new BigInt64Array(size);
    encoded.forEach((ids, row) => {
      const base = row * sequenceLength;
      for (let i = 0; i < ids.length; i++) {
        inputIds[base + i] = BigInt(ids[i]);
        attentionMask[base + i] = 1n;
      }
    });
    return { batchSize: texts.length, sequenceLength, inputIds, attentionMask, tokenTypeIds };
  }

  private tokenizeToIds(text: string): number[] {
    const ids: number[] = [];
    // Added tokens ([CLS], [MASK], …) are matched on the raw text before normalisation, as upstream does.
    const segments = this.addedTokenPattern ? text.split(this.addedTokenPattern) : [text];
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i];
      if (!segment) continue;
      const addedId = i % 2 === 1 ? this.addedTokens.get(segment) : undefined;
      if (addedId !== undefined) {
        ids.push(addedId);
        continue;
      }
      for (const word of this.preTokenize(this.normalize(segment))) {
        for (const piece of this.wordPiece(word)) ids.push(this.idByToken.get(piece) ?? this.unkId);
      }
    }
    return ids;
  }

  private requireId(token: string, where: string): number {
    const id = this.idByToken.get(token);
    if (id === undefined) throw new Error(`tokenizer.json vocab lacks ${JSON.stringify(token)} (needed for ${where})`);
    return id;
  }
}
