import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';

import * as ort from 'onnxruntime-node';

import { EncoderInfo, ImageTextEncoder } from '../encoder.port';
import { threadSpinning } from '../onnx-threads';
import { OnnxSession, OnnxWorkerHost, WorkerOnnxSession } from '../onnx-worker.session';
import { CLIP_IMAGE_SIZE, ClipPreprocessOptions, decodeRgb, rgbToClipTensor } from './clip-preprocess';
import { ClipTokenizer } from './clip-tokenizer';

export interface OnnxClipEncoderOptions {
  /** Folder in the layout of Xenova/clip-vit-base-patch32 (onnx/…, tokenizer.json, config.json). */
  readonly modelDir: string;
  /** Images or texts per model call; default 16. */
  readonly batchSize?: number;
  /** onnxruntime intra-op threads; default: onnxruntime's choice (all cores). */
  readonly intraOpThreads?: number;
  /** Largest decoded image accepted, in pixels (default 50 MP). */
  readonly maxPixels?: number;
  /** Let idle onnxruntime threads spin-wait (default false: see threadSpinning). */
  readonly spinThreads?: boolean;
  /**
   * Run the image tower on a worker thread (default true), so the main thread decodes and
   * resizes the next batch, and serves I/O, while a batch is in the model.
   */
  readonly visionOnWorker?: boolean;
  /**
   * Run the text tower on a worker thread (default true): search queries then leave the main
   * thread free for HTTP, the bus and the index while the model works, and the CLIP text tower
   * and the caption encoder (on its own worker) run at the same time.
   */
  readonly textOnWorker?: boolean;
  /** The worker the text tower runs on, shared with other text models (default: its own). */
  readonly textWorker?: OnnxWorkerHost;
}

export interface ClipModelProbe {
  readonly ok: boolean;
  /** Why the folder cannot be loaded, phrased for an operator. */
  readonly reason?: string;
  readonly visionPath?: string;
  readonly textPath?: string;
}

const VISION_CANDIDATES = ['onnx/vision_model_quantized.onnx', 'onnx/vision_model.onnx'];
const TEXT_CANDIDATES = ['onnx/text_model_quantized.onnx', 'onnx/text_model.onnx'];
const VISION_IO = { inputs: ['pixel_values'], optional: [], output: 'image_embeds' } as const;
// The Xenova export declares input_ids only (optimum's CLIP text config); other exports add
// attention_mask. The text tower attends causally and pools at the first end-of-text token, so
// EOS padding gives the same vectors with or without a mask.
const TEXT_IO = { inputs: ['input_ids'], optional: ['attention_mask'], output: 'text_embeds' } as const;
const DEFAULT_BATCH_SIZE = 16;
// Images decoded ahead of the model: enough to keep sharp's threads busy without holding
// a whole large request in memory as float tensors.
const PREPROCESS_CONCURRENCY = 4;

function firstExisting(dir: string, candidates: readonly string[]): string | undefined {
  return candidates.map((c) => join(dir, c)).find((p) => existsSync(p));
}

/** Rejects files that exist but cannot be models: Git LFS pointers, empty or truncated downloads. */
async function modelFileProblem(path: string): Promise<string | undefined> {
  const size = (await stat(path)).size;
  if (size < 64) return `${path} is only ${size} bytes; the download looks incomplete`;
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(64);
    await handle.read(head, 0, 64, 0);
    if (head.toString('latin1').startsWith('version https://git-lfs')) {
      return `${path} is a Git LFS pointer, not the weights; fetch it with git lfs pull`;
    }
  } finally {
    await handle.close();
  }
  return undefined;
}

async function sha256OfFiles(paths: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const path of paths) {
    await new Promise<void>((resolveRead, rejectRead) => {
      createReadStream(path, { highWaterMark: 4 << 20 })
        .on('data', (chunk) => hash.update(chunk))
        .on('end', () => resolveRead())
        .on('error', rejectRead);
    });
  }
  return hash.digest('hex');
}

function l2Normalise(row: Float32Array): Float32Array {
  let sum = 0;
  for (const v of row) sum += v * v;
  const norm = Math.sqrt(sum);
  // A zero vector has no direction; leave it zero rather than fill it with NaN.
  if (norm > 0) for (let i = 0; i < row.length; i++) row[i] /= norm;
  return row;
}

function splitRows(data: Float32Array, rows: number, dim: number): Float32Array[] {
  return Array.from({ length: rows }, (_, i) => l2Normalise(data.slice(i * dim, (i + 1) * dim)));
}

interface TowerIo {
  readonly inputs: readonly string[];
  readonly optional: readonly string[];
  readonly output: string;
}

/** Checks a tower declares the inputs we must feed, none we cannot, and the output we read. */
function checkIo(session: OnnxSession, expected: TowerIo, path: string): void {
  const missing = expected.inputs.filter((n) => !session.inputNames.includes(n));
  const unknown = session.inputNames.filter((n) => !expected.inputs.includes(n) && !expected.optional.includes(n));
  if (missing.length > 0 || unknown.length > 0 || !session.outputNames.includes(expected.output)) {
    const optional = expected.optional.length > 0 ? ` (optionally ${expected.optional.join(', ')})` : '';
    throw new Error(
      `${path}: expected inputs [${expected.inputs.join(', ')}]${optional} and output ${expected.output}, ` +
        `found inputs [${session.inputNames.join(', ')}] and outputs [${session.outputNames.join(', ')}]; ` +
        'is this a CLIP export in the Xenova/clip-vit-base-patch32 layout?',
    );
  }
}

async function runTextTower(session: OnnxSession, tokenizer: ClipTokenizer, texts: readonly string[]): Promise<ort.Tensor> {
  const batch = tokenizer.encodeBatch(texts);
  const shape = [batch.batchSize, batch.seqLen];
  // Exactly the inputs the model declares: onnxruntime rejects feeds it does not know.
  const feeds: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int64', batch.inputIds, shape) };
  if (session.inputNames.includes('attention_mask')) feeds.attention_mask = new ort.Tensor('int64', batch.attentionMask, shape);
  return (await session.run(feeds))[TEXT_IO.output];
}

async function textEmbeddingDim(session: OnnxSession, tokenizer: ClipTokenizer): Promise<number> {
  const { dims } = await runTextTower(session, tokenizer, ['']);
  if (dims.length !== 2 || dims[0] !== 1) throw new Error(`OnnxClipEncoder: text_embeds has shape [${dims.join(',')}], expected [batch, dim]`);
  return dims[1];
}

/**
 * CLIP image and text encoder running in process on onnxruntime (CPU). Loads the two towers
 * of a Xenova-layout export (quantized preferred), tokenises with the model's tokenizer.json,
 * preprocesses like Hugging Face's CLIPImageProcessor, and returns L2-normalised vectors.
 */
export class OnnxClipEncoder implements ImageTextEncoder {
  private closed = false;

  private constructor(
    readonly info: EncoderInfo,
    private readonly vision: OnnxSession,
    private readonly text: OnnxSession,
    private readonly tokenizer: ClipTokenizer,
    private readonly batchSize: number,
    private readonly preprocessOptions: ClipPreprocessOptions,
  ) {}

  /** The text tower's declared inputs, in model order: what every text call feeds. */
  get textInputNames(): readonly string[] {
    return this.text.inputNames;
  }

  /** Tells whether `modelDir` holds loadable CLIP weights, without loading them. */
  static async probe(modelDir: string): Promise<ClipModelProbe> {
    const dir = resolve(modelDir);
    if (!existsSync(dir)) return { ok: false, reason: `model folder ${dir} does not exist` };
    const visionPath = firstExisting(dir, VISION_CANDIDATES);
    const textPath = firstExisting(dir, TEXT_CANDIDATES);
    if (!visionPath || !textPath) {
      const wanted = [...(visionPath ? [] : VISION_CANDIDATES), ...(textPath ? [] : TEXT_CANDIDATES)];
      return { ok: false, reason: `no CLIP weights in ${dir}: none of ${wanted.join(', ')} exist` };
    }
    if (!existsSync(join(dir, 'tokenizer.json'))) return { ok: false, reason: `${dir}/tokenizer.json is missing` };
    for (const path of [visionPath, textPath]) {
      const problem = await modelFileProblem(path);
      if (problem) return { ok: false, reason: problem, visionPath, textPath };
    }
    return { ok: true, visionPath, textPath };
  }

  static async load(opts: OnnxClipEncoderOptions): Promise<OnnxClipEncoder> {
    const dir = resolve(opts.modelDir);
    const batchSize = opts.batchSize ?? DEFAULT_BATCH_SIZE;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`OnnxClipEncoder: batchSize must be a positive integer, got ${batchSize}`);
    const probe = await OnnxClipEncoder.probe(dir);
    if (!probe.ok || !probe.visionPath || !probe.textPath) throw new Error(`OnnxClipEncoder: ${probe.reason ?? 'model folder unusable'}`);

    const tokenizer = ClipTokenizer.fromFile(join(dir, 'tokenizer.json'));
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      interOpNumThreads: 1,
      ...(opts.intraOpThreads ? { intraOpNumThreads: opts.intraOpThreads } : {}),
      ...threadSpinning(opts.spinThreads ?? false),
    };
    const opened = await Promise.allSettled<OnnxSession>([
      OnnxClipEncoder.openSession(probe.visionPath, sessionOptions, opts.visionOnWorker ?? true),
      OnnxClipEncoder.openSession(probe.textPath, sessionOptions, opts.textOnWorker ?? true, opts.textWorker),
    ]);
    const failed = opened.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      // Do not leak the tower that did load.
      await Promise.allSettled(opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value.release()] : [])));
      throw failed.reason;
    }
    const [vision, text] = opened.map((r) => (r as PromiseFulfilledResult<OnnxSession>).value) as [OnnxSession, OnnxSession];
    try {
      checkIo(vision, VISION_IO, probe.visionPath);
      checkIo(text, TEXT_IO, probe.textPath);
      const info: EncoderInfo = {
        modelId: await OnnxClipEncoder.readModelId(dir),
        modelVersion: (await sha256OfFiles([probe.visionPath, probe.textPath])).slice(0, 12),
        // One tiny text call both proves the text tower runs and reads the embedding width.
        dim: await textEmbeddingDim(text, tokenizer),
      };
      return new OnnxClipEncoder(info, vision, text, tokenizer, batchSize, { maxPixels: opts.maxPixels });
    } catch (err) {
      await Promise.allSettled([vision.release(), text.release()]);
      throw err;
    }
  }

  private static async openSession(path: string, options: ort.InferenceSession.SessionOptions, onWorker: boolean, host?: OnnxWorkerHost): Promise<OnnxSession> {
    try {
      return onWorker ? await WorkerOnnxSession.create(path, options, host) : await ort.InferenceSession.create(path, options);
    } catch (err) {
      throw new Error(`OnnxClipEncoder: onnxruntime cannot load ${path}: ${(err as Error).message}`);
    }
  }

  private static async readModelId(dir: string): Promise<string> {
    try {
      const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as { _name_or_path?: unknown };
      if (typeof config._name_or_path === 'string' && config._name_or_path.length > 0) return config._name_or_path;
    } catch {
      // No or unreadable config.json: the folder name is the best identity left.
    }
    return basename(dir);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('OnnxClipEncoder: used after close()');
  }

  async embedImages(images: Buffer[]): Promise<Float32Array[]> {
    this.assertOpen();
    const result: Float32Array[] = [];
    const chunks: Buffer[][] = [];
    for (let start = 0; start < images.length; start += this.batchSize) chunks.push(images.slice(start, start + this.batchSize));
    // Decode and resize chunk k+1 while chunk k is in the model (on its worker thread).
    const prepare = (k: number): Promise<Float32Array> => {
      const prepared = this.preprocessBatch(chunks[k], k * this.batchSize);
      prepared.catch(() => undefined); // awaited below; do not report it unhandled meanwhile
      return prepared;
    };
    let next = chunks.length > 0 ? prepare(0) : undefined;
    for (let k = 0; k < chunks.length; k++) {
      const batch = await next!;
      next = k + 1 < chunks.length ? prepare(k + 1) : undefined;
      const feeds = { pixel_values: new ort.Tensor('float32', batch, [chunks[k].length, 3, CLIP_IMAGE_SIZE, CLIP_IMAGE_SIZE]) };
      const out = (await this.vision.run(feeds))[VISION_IO.output];
      result.push(...this.rowsOf(out, chunks[k].length, VISION_IO.output));
    }
    return result;
  }

  async embedTexts(texts: string[]): Promise<Float32Array[]> {
    this.assertOpen();
    const result: Float32Array[] = [];
    for (let start = 0; start < texts.length; start += this.batchSize) {
      const chunk = texts.slice(start, start + this.batchSize);
      result.push(...this.rowsOf(await this.runText(chunk), chunk.length, TEXT_IO.output));
    }
    return result;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([this.vision.release(), this.text.release()]);
  }

  private runText(texts: readonly string[]): Promise<ort.Tensor> {
    return runTextTower(this.text, this.tokenizer, texts);
  }

  private rowsOf(out: ort.Tensor | undefined, rows: number, name: string): Float32Array[] {
    // Also catches towers of different widths, which would not share one embedding space.
    if (!out || out.type !== 'float32' || out.dims.length !== 2 || out.dims[0] !== rows || out.dims[1] !== this.info.dim) {
      throw new Error(
        `OnnxClipEncoder: ${name} came back as ${out ? `${out.type}[${out.dims.join(',')}]` : 'nothing'}, expected float32[${rows},${this.info.dim}]`,
      );
    }
    return splitRows(out.data as Float32Array, rows, out.dims[1]);
  }

  /** Images → one [n,3,224,224] float32 buffer, each image written in place (no per-image copy). */
  private async preprocessBatch(chunk: readonly Buffer[], offset: number): Promise<Float32Array> {
    const plane = 3 * CLIP_IMAGE_SIZE * CLIP_IMAGE_SIZE;
    const batch = new Float32Array(chunk.length * plane);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < chunk.length) {
        const i = next++;
        try {
          // Decoding runs on libuv's pool, so several are in flight; the resample is synchronous JS.
          const rgb = await decodeRgb(chunk[i], this.preprocessOptions);
          rgbToClipTensor(rgb, CLIP_IMAGE_SIZE, batch.subarray(i * plane, (i + 1) * plane));
        } catch (err) {
          throw new Error(`image ${offset + i}: ${(err as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PREPROCESS_CONCURRENCY, chunk.length) }, worker));
    return batch;
  }
}
