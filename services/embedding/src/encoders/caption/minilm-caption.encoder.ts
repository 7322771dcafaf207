import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';

import type { EncoderInfo, TextEncoder } from '../encoder.port';
import { threadSpinning } from '../onnx-threads';
import { WorkerOnnxSession, type OnnxSession, type OnnxWorkerHost } from '../onnx-worker.session';
import { WordPieceTokenizer } from './wordpiece-tokenizer';

export interface MiniLmCaptionEncoderOptions {
  /** Folder with `model.onnx` and `tokenizer.json` (see models/fetch-models.ts `ensureCaptionModel`). */
  readonly modelDir: string;
  /**
   * Texts per ONNX run; default 1. This int8 model quantises activations per tensor
   * (DynamicQuantizeLinear), so a text's vector shifts slightly (cosine ≈ 0.98) with whatever else
   * shares its batch. Batch size 1 keeps one text → one vector, which the index relies on for
   * idempotent re-ingest and query/caption agreement; larger batches give ~2x throughput for bulk
   * work that can accept that drift.
   */
  readonly batchSize?: number;
  /** ONNX Runtime threads inside one operator; default: its own choice (one per core). */
  readonly intraOpThreads?: number;
  /** Token limit including [CLS]/[SEP]; default the tokenizer file's truncation (128), else 256. */
  readonly maxLength?: number;
  /** Let idle onnxruntime threads spin-wait (default false: see threadSpinning). */
  readonly spinThreads?: boolean;
  /**
   * Run the model on a worker thread (default true): onnxruntime-node runs a session
   * synchronously on the calling thread, so on the main thread every query's encode would stall
   * HTTP, the bus and the index, and could not overlap the CLIP text tower's.
   */
  readonly onWorker?: boolean;
  /** The worker to run on, shared with other text models (default: its own). */
  readonly worker?: OnnxWorkerHost;
}

export interface ProbeResult {
  readonly ok: boolean;
  readonly reason?: string;
}

const MODEL_FILE = 'model.onnx';
const TOKENIZER_FILE = 'tokenizer.json';
const FETCH_HINT = 'run `node services/embedding/tools/dist/fetch-models.js --caption` to fetch it';

/**
 * Caption (text) embeddings with all-MiniLM-L6-v2 (int8 ONNX): BERT WordPiece, mean pooling over
 * the attention mask, L2-normalised, 384-d, the sentence-transformers recipe for this model.
 */
export class MiniLmCaptionEncoder implements TextEncoder {
  static readonly MODEL_ID = 'sentence-transformers/all-MiniLM-L6-v2-q8';
  static readonly DIM = 384;

  readonly info: EncoderInfo;
  /** Input names the ONNX graph declares, in its order; only these are fed. */
  readonly inputNames: readonly string[];

  private readonly outputName: string;
  private readonly batchSize: number;
  private session: OnnxSession | undefined;
  // ONNX Runtime already spreads one run over the cores; queueing runs keeps latency predictable.
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    session: OnnxSession,
    private readonly tokenizer: WordPieceTokenizer,
    modelVersion: string,
    batchSize: number,
    private readonly onWorker: boolean,
  ) {
    this.session = session;
    this.inputNames = [...session.inputNames];
    this.outputName = session.outputNames.includes('last_hidden_state') ? 'last_hidden_state' : session.outputNames[0];
    this.batchSize = batchSize;
    this.info = { modelId: MiniLmCaptionEncoder.MODEL_ID, modelVersion, dim: MiniLmCaptionEncoder.DIM };
  }

  static async load(options: MiniLmCaptionEncoderOptions): Promise<MiniLmCaptionEncoder> {
    const batchSize = options.batchSize ?? 1;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`batchSize must be a positive integer; got ${batchSize}`);
    if (options.intraOpThreads !== undefined && (!Number.isInteger(options.intraOpThreads) || options.intraOpThreads < 1)) {
      throw new Error(`intraOpThreads must be a positive integer; got ${options.intraOpThreads}`);
    }
    const modelPath = join(options.modelDir, MODEL_FILE);
    let modelBytes: Buffer;
    try {
      modelBytes = await readFile(modelPath);
    } catch (err) {
      throw new Error(`cannot read ${modelPath} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): ${FETCH_HINT}`);
    }
    const tokenizer = await WordPieceTokenizer.fromFile(join(options.modelDir, TOKENIZER_FILE), { maxLength: options.maxLength });
    const modelVersion = `sha256:${createHash('sha256').update(modelBytes).digest('hex').slice(0, 16)}`;

    const sessionOptions: InferenceSession.SessionOptions = {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      interOpNumThreads: 1,
      ...(options.intraOpThreads !== undefined ? { intraOpNumThreads: options.intraOpThreads } : {}),
      ...threadSpinning(options.spinThreads ?? false),
    };
    const onWorker = options.onWorker ?? true;
    const session: OnnxSession = onWorker
      ? await WorkerOnnxSession.create(modelPath, sessionOptions, options.worker)
      : await InferenceSession.create(modelBytes, sessionOptions);
    const missing = ['input_ids', 'attention_mask'].filter((name) => !session.inputNames.includes(name));
    const unknown = session.inputNames.filter((name) => !['input_ids', 'attention_mask', 'token_type_ids'].includes(name));
    if (missing.length > 0 || unknown.length > 0) {
      await session.release();
      throw new Error(
        `${modelPath} is not a BERT encoder this class can feed: inputs are [${session.inputNames.join(', ')}]; ` +
          'need input_ids and attention_mask, optionally token_type_ids',
      );
    }
    return new MiniLmCaptionEncoder(session, tokenizer, modelVersion, batchSize, onWorker);
  }

  /** Checks that `modelDir` holds a loadable model that yields 384-d vectors, without keeping it loaded. */
  static async probe(modelDir: string): Promise<ProbeResult> {
    let encoder: MiniLmCaptionEncoder | undefined;
    try {
      encoder = await MiniLmCaptionEncoder.load({ modelDir, batchSize: 1 });
      const [vector] = await encoder.embedTexts(['probe']);
      if (vector.length !== MiniLmCaptionEncoder.DIM) {
        return { ok: false, reason: `model in ${modelDir} yields ${vector.length}-d vectors, expected ${MiniLmCaptionEncoder.DIM}` };
      }
      return { ok: true };
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    } finally {
      await encoder?.close();
    }
  }

  async embedTexts(texts: string[]): Promise<Float32Array[]> {
    texts.forEach((text, i) => {
      if (typeof text !== 'string') throw new TypeError(`texts[${i}] must be a string; got ${typeof text}`);
    });
    if (texts.length === 0) return [];
    // Batch texts of similar token length together so little compute goes into padding.
    const lengths = texts.map((text) => this.tokenizer.encode(text).length);
    const order = texts.map((_, i) => i).sort((a, b) => lengths[a] - lengths[b] || a - b);
    const result = new Array<Float32Array>(texts.length);
    const runs: Promise<void>[] = [];
    for (let start = 0; start < order.length; start += this.batchSize) {
      const indices = order.slice(start, start + this.batchSize);
      const batch = indices.map((i) => texts[i]);
      // A worker runs one model call at a time anyway: posting every run now sends them in one
      // message (one thread hand-over for a whole batch of texts run one by one).
      const vectors = this.onWorker ? this.runBatch(batch) : this.enqueue(() => this.runBatch(batch));
      runs.push(
        vectors.then((v) => {
          indices.forEach((original, k) => {
            result[original] = v[k];
          });
        }),
      );
    }
    await Promise.all(runs);
    return result;
  }

  async close(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    if (!session) return;
    await this.queue.catch(() => undefined);
    await session.release();
  }

  private enqueue<T>(task: () => Promise<T>): Promise<T> {
    const next = this.queue.then(task, task);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async runBatch(texts: string[]): Promise<Float32Array[]> {
    const session = this.session;
    if (!session) throw new Error('MiniLmCaptionEncoder is closed; load a new one');
    const batch = this.tokenizer.encodeBatch(texts);
    const dims = [batch.batchSize, batch.sequenceLength];
    const available: Record<string, BigInt64Array> = {
      input_ids: batch.inputIds,
      // A copy: a worker session takes the feeds' buffers, and pooling below still reads the mask.
      attention_mask: batch.attentionMask.slice(),
      token_type_ids: batch.tokenTypeIds,
    };
    const feeds: Record<string, Tensor> = {};
    for (const name of this.inputNames) feeds[name] = new Tensor('int64', available[name], dims);

    const outputs = await session.run(feeds);
    const output = outputs[this.outputName];
    try {
      const data = output.data;
      if (!(data instanceof Float32Array)) throw new Error(`output ${this.outputName} is ${output.type}, expected float32`);
      if (output.dims.length === 2) {
        // A graph with pooling built in: already [batch, dim].
        return texts.map((_, row) => l2Normalise(data.slice(row * output.dims[1], (row + 1) * output.dims[1])));
      }
      if (output.dims.length !== 3 || output.dims[1] !== batch.sequenceLength) {
        throw new Error(`output ${this.outputName} has shape [${output.dims.join(', ')}], expected [batch, ${batch.sequenceLength}, dim]`);
      }
      return texts.map((_, row) => meanPool(data, batch.attentionMask, row, batch.sequenceLength, output.dims[2]));
    } finally {
      output.dispose();
    }
  }
}

/** Average of the token vectors the attention mask marks as real, then unit length. */
function meanPool(hidden: Float32Array, mask: BigInt64Array, row: number, seqLen: number, dim: number): Float32Array {
  const sum = new Float32Array(dim);
  let count = 0;
  for (let t = 0; t < seqLen; t++) {
    if (mask[row * seqLen + t] === 0n) continue;
    count++;
    const offset = (row * seqLen + t) * dim;
    for (let d = 0; d < dim; d++) sum[d] += hidden[offset + d];
  }
  if (count > 0) for (let d = 0; d < dim; d++) sum[d] /= count;
  return l2Normalise(sum);
}

function l2Normalise(vector: Float32Array): Float32Array {
  let norm = 0;
  for (let d = 0; d < vector.length; d++) norm += vector[d] * vector[d];
  norm = Math.sqrt(norm);
  // Same floor as torch.nn.functional.normalize, so a zero vector stays zero instead of NaN.
  const scale = 1 / Math.max(norm, 1e-12);
  for (let d = 0; d < vector.length; d++) vector[d] *= scale;
  return vector;
}
