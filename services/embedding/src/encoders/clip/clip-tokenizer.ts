import { readFileSync } from 'node:fs';

/** CLIP's context length: BOS + 75 content tokens + EOS. */
export const CLIP_MAX_TOKENS = 77;

export interface ClipTokenBatch {
  /** Row-major [texts.length, seqLen], padded with the pad id (EOS, as Hugging Face's CLIP does). */
  readonly inputIds: BigInt64Array;
  /** 1 for real tokens, 0 for padding; same layout as inputIds. */
  readonly attentionMask: BigInt64Array;
  readonly seqLen: number;
  readonly batchSize: number;
}

/** The subset of a Hugging Face `tokenizer.json` this tokenizer reads. */
interface TokenizerJson {
  readonly added_tokens?: ReadonlyArray<{ readonly id: number; readonly content: string }>;
  readonly model?: {
    readonly type?: string;
    readonly vocab?: Record<string, number>;
    readonly merges?: ReadonlyArray<string | readonly [string, string]>;
    readonly end_of_word_suffix?: string | null;
    readonly unk_token?: string | null;
  };
}

// CLIP's pre-tokenizer pattern (tokenizer.json → pre_tokenizer.Split, behaviour "Removed", inverted):
// the matches are the words and everything between them (whitespace) is dropped. The ByteLevel
// step that follows re-splits with GPT-2's pattern, which cannot split these pieces any further,
// so it is not repeated here.
// `\s` there is Oniguruma's: the Unicode White_Space property, which includes U+0085 (NEL) and
// not U+FEFF (BOM), unlike JavaScript's `\s`; hence \p{White_Space} here and below.
const PRE_TOKENIZE = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\p{White_Space}\p{L}\p{N}]+/gu;
const WHITESPACE_RUN = /\p{White_Space}+/gu;
const CAPITAL_SIGMA = '\u03a3';

const BOS_TEXT = '<|startoftext|>';
const EOS_TEXT = '<|endoftext|>';
const WORD_CACHE_LIMIT = 20_000;

/**
 * GPT-2's reversible byte → printable character map: the vocabulary is written in these
 * characters, so every UTF-8 byte of the input has a token and nothing is ever unknown.
 */
function byteToUnicodeTable(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const table = new Array<string>(256);
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = printable.includes(b) ? String.fromCodePoint(b) : String.fromCodePoint(256 + shifted++);
  }
  return table;
}

/**
 * Lower case as the tokenizers library does it, one code point at a time: no context rules, so
 * a word-final capital sigma becomes σ, not the ς that String.prototype.toLowerCase gives.
 */
function lowerCaseByCodePoint(text: string): string {
  const lower = text.toLowerCase();
  // Final sigma is the only context-dependent mapping toLowerCase applies without a locale.
  if (!text.includes(CAPITAL_SIGMA)) return lower;
  let out = '';
  for (const ch of text) out += ch.toLowerCase();
  return out;
}

/**
 * CLIP's byte-level BPE tokenizer, read from a Hugging Face `tokenizer.json`. Behaves like the
 * Hugging Face fast CLIP tokenizer: NFC, whitespace runs → one space, lower-case, CLIP's
 * pre-tokenizer, byte-level mapping, BPE with the `</w>` end-of-word suffix, BOS/EOS, truncation
 * to 77 tokens keeping EOS. Like the reference tokenizers, the literal strings `<|startoftext|>`
 * and `<|endoftext|>` in the input become the special tokens.
 */
export class ClipTokenizer {
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly vocabSize: number;

  private readonly byteEncoder = byteToUnicodeTable();
  private readonly byteDecoder = new Map(this.byteEncoder.map((ch, b) => [ch, b] as const));
  private readonly idToToken: string[];
  private readonly wordCache = new Map<string, number[]>();

  private constructor(
    private readonly vocab: ReadonlyMap<string, number>,
    private readonly mergeRanks: ReadonlyMap<string, number>,
    private readonly endOfWordSuffix: string,
    private readonly unkId: number,
  ) {
    const bos = vocab.get(BOS_TEXT);
    const eos = vocab.get(EOS_TEXT);
    if (bos === undefined || eos === undefined) {
      throw new Error(`CLIP tokenizer: vocabulary lacks ${BOS_TEXT} or ${EOS_TEXT}; is this a CLIP tokenizer.json?`);
    }
    this.bosId = bos;
    this.eosId = eos;
    this.padId = eos;
    this.vocabSize = vocab.size;
    this.idToToken = [];
    for (const [token, id] of vocab) this.idToToken[id] = token;
  }

  static fromFile(tokenizerJsonPath: string): ClipTokenizer {
    let parsed: TokenizerJson;
    try {
      parsed = JSON.parse(readFileSync(tokenizerJsonPath, 'utf8')) as TokenizerJson;
    } catch (err) {
      throw new Error(`CLIP tokenizer: cannot read ${tokenizerJsonPath}: ${(err as Error).message}`);
    }
    return ClipTokenizer.fromJson(parsed, tokenizerJsonPath);
  }

  static fromJson(json: TokenizerJson, source = 'tokenizer.json'): ClipTokenizer {
    const model = json.model;
    if (!model || model.type !== 'BPE' || !model.vocab || !model.merges) {
      throw new Error(`CLIP tokenizer: ${source} has no BPE model with vocab and merges`);
    }
    const vocab = new Map<string, number>(Object.entries(model.vocab));
    for (const added of json.added_tokens ?? []) vocab.set(added.content, added.id);
    const mergeRanks = new Map<string, number>();
    model.merges.forEach((merge, rank) => {
      const key = typeof merge === 'string' ? merge : `${merge[0]} ${merge[1]}`;
      mergeRanks.set(key, rank);
    });
    const unkId = vocab.get(model.unk_token ?? EOS_TEXT) ?? vocab.get(EOS_TEXT) ?? 0;
    return new ClipTokenizer(vocab, mergeRanks, model.end_of_word_suffix ?? '</w>', unkId);
  }

  /** Token ids of one text: BOS, content tokens (at most 75), EOS. */
  encode(text: string): number[] {
    const content = this.tokenize(text);
    const room = CLIP_MAX_TOKENS - 2;
    return [this.bosId, ...(content.length > room ? content.slice(0, room) : content), this.eosId];
  }

  /** Encodes texts and pads them to the longest (at most 77) for one model call. */
  encodeBatch(texts: readonly string[]): ClipTokenBatch {
    const rows = texts.map((t) => this.encode(t));
    const seqLen = rows.reduce((max, r) => Math.max(max, r.length), 0);
    const inputIds = new BigInt64Array(rows.length * seqLen).fill(BigInt(this.padId));
    const attentionMask = new BigInt64Array(rows.length * seqLen);
    rows.forEach((row, i) => {
      row.forEach((id, j) => {
        inputIds[i * seqLen + j] = BigInt(id);
        attentionMask[i * seqLen + j] = 1n;
      });
    });
    return { inputIds, attentionMask, seqLen, batchSize: rows.length };
  }

  /** Text of the ids, special tokens dropped; words come back separated by single spaces. */
  decode(ids: readonly number[]): string {
    const bytes: number[] = [];
    for (const id of ids) {
      if (id === this.bosId || id === this.eosId) continue;
      const token = this.idToToken[id];
      if (token === undefined) throw new Error(`CLIP tokenizer: id ${id} is outside the vocabulary (0..${this.vocabSize - 1})`);
      for (const ch of token.split(this.endOfWordSuffix).join(' ')) {
        bytes.push(ch === ' ' ? 0x20 : (this.byteDecoder.get(ch) ?? 0x3f));
      }
    }
    return Buffer.from(bytes).toString('utf8').trim();
  }

  /** Content token ids (no BOS/EOS, no truncation). */
  tokenize(text: string): number[] {
    const normalised = lowerCaseByCodePoint(text.normalize('NFC').replace(WHITESPACE_RUN, ' '));
    const ids: number[] = [];
    for (const match of normalised.matchAll(PRE_TOKENIZE)) {
      const word = match[0];
      if (word === BOS_TEXT) ids.push(this.bosId);
      else if (word === EOS_TEXT) ids.push(this.eosId);
      else ids.push(...this.bpeWord(word));
    }
    return ids;
  }

  private bpeWord(word: string): number[] {
    const cached = this.wordCache.get(word);
    if (cached) return cached;
    const symbols = Array.from(Buffer.from(word, 'utf8'), (b) => this.byteEncoder[b]);
    symbols[symbols.length - 1] += this.endOfWordSuffix;
    // Merge the best-ranked adjacent pair until no known pair remains (standard BPE).
    while (symbols.length > 1) {
      let bestRank = Infinity;
      let bestAt = -1;
      for (let i = 0; i < symbols.length - 1; i++) {
        const rank = this.mergeRanks.get(`${symbols[i]} ${symbols[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          bestAt = i;
        }
      }
      if (bestAt < 0) break;
      const left = symbols[bestAt];
      const right = symbols[bestAt + 1];
      // Merge every occurrence of this pair, left to right, as the reference does.
      for (let i = 0; i < symbols.length - 1; i++) {
        if (symbols[i] === left && symbols[i + 1] === right) symbols.splice(i, 2, left + right);
      }
    }
    const ids = symbols.map((s) => this.vocab.get(s) ?? this.unkId);
    if (this.wordCache.size >= WORD_CACHE_LIMIT) this.wordCache.clear();
    this.wordCache.set(word, ids);
    return ids;
  }
}
