import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { MicroBatcher } from '../../micro-batcher';
import { CLIP_IMAGE_SIZE, preprocessForClip } from '../clip/clip-preprocess';
import { CLIP_MAX_TOKENS, ClipTokenizer } from '../clip/clip-tokenizer';
import { OnnxClipEncoder } from '../clip/onnx-clip.encoder';
import type { EncoderInfo, ImageTextEncoder } from '../encoder.port';
import { KserveGrpcClient } from './kserve-v2.grpc-client';
import { embeddingRows, float32ToLittleEndian, int64ToLittleEndian, tokenRowsToTensors } from './kserve-tensors';
import type { KserveEndpoint, KserveInferInput, KserveModelMetadata, KserveTensorMetadata } from './kserve-v2.types';
import { NoHealthyEndpointError, TritonEndpointPool, type EndpointHealth } from './triton-endpoint-pool';

/** The logging the encoder needs; the service's `Logger` fits. */
export interface TritonEncoderLog {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface TritonClipEncoderOptions {
  /** `host:port` of each KServe v2 gRPC endpoint, in order of preference. */
  readonly endpoints: readonly string[];
  /** CLIP folder in the Xenova layout: tokenizer.json always, the ONNX towers for the fallback. */
  readonly modelDir: string;
  /** Deadline of every ModelInfer and ModelMetadata call, in ms. */
  readonly timeoutMs: number;
  readonly imageModel?: string;
  readonly textModel?: string;
  /** Images or texts per ModelInfer; must not exceed the server's max_batch_size. Default 16. */
  readonly batchSize?: number;
  /** How long a partial batch waits for more items from concurrent callers. Default 5 ms. */
  readonly batchWaitMs?: number;
  /** When no endpoint can serve, embed in process with the ONNX towers in `modelDir`. */
  readonly fallbackToOnnx?: boolean;
  /** onnxruntime threads of the fallback encoder. */
  readonly intraOpThreads?: number;
  /** Let the fallback's idle onnxruntime threads spin-wait (default false). */
  readonly spinThreads?: boolean;
  readonly maxPixels?: number;
  readonly logger?: TritonEncoderLog;
  /** Called after every batch sent to Triton (not for the fallback), e.g. for metrics. */
  readonly onBatch?: (tower: 'clip-image' | 'clip-text', size: number, seconds: number) => void;
  /** A failed endpoint is probed again after this long; default 5000 ms. */
  readonly retryDownAfterMs?: number;
  /** Opens one endpoint; default the gRPC client. Tests pass fakes. */
  readonly connect?: (address: string) => KserveEndpoint;
}

interface ImageItem {
  readonly bytes: Buffer;
  readonly pixels: Float32Array;
}
interface TextItem {
  readonly text: string;
  readonly ids: readonly number[];
}

/** The served models as read from ModelMetadata: names, pinned versions, embedding width. */
interface RemoteModels {
  readonly image: { readonly name: string; readonly version: string };
  readonly text: { readonly name: string; readonly version: string };
  readonly dim: number;
  /** Whether clip_text declares attention_mask (the Xenova export does not): sent only then. */
  readonly textTakesMask: boolean;
}

const DEFAULT_IMAGE_MODEL = 'clip_image';
const DEFAULT_TEXT_MODEL = 'clip_text';
const PIXEL_PLANE = 3 * CLIP_IMAGE_SIZE * CLIP_IMAGE_SIZE;
const PREPROCESS_CONCURRENCY = 4;
// Triton and the local towers must agree on this text before the fallback may stand in.
const AGREEMENT_PROBE_TEXT = 'a photo of a red bicycle';
const AGREEMENT_MIN_COSINE = 0.999;

const describeTensors = (ts: readonly KserveTensorMetadata[]) => ts.map((t) => `${t.name} ${t.datatype}[${t.shape.join(',')}]`).join(', ') || 'none';

function tensorMatches(t: KserveTensorMetadata | undefined, datatype: string, shape: readonly (number | 'any')[]): boolean {
  return Boolean(
    t && t.datatype === datatype && t.shape.length === shape.length && shape.every((d, i) => d === 'any' || t.shape[i] === d || t.shape[i] === -1),
  );
}

/** The newest ready version, pinned so that every vector this process labels came from it. */
function newestVersion(meta: KserveModelMetadata): string {
  const numeric = meta.versions.filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  return numeric[0] ?? meta.versions[0] ?? '';
}

/**
 * Checks the served models have the CLIP I/O this client can send and read: input_ids required,
 * attention_mask optional, nothing else. Returns the width and whether the text model takes a mask.
 */
function validateMetadata(image: KserveModelMetadata, text: KserveModelMetadata, address: string): { dim: number; textTakesMask: boolean } {
  const problems: string[] = [];
  const pixel = image.inputs.find((t) => t.name === 'pixel_values');
  const imageOut = image.outputs.find((t) => t.name === 'image_embeds');
  // Batch dimension first and variable: a model without one (max_batch_size 0) cannot batch.
  if (!tensorMatches(pixel, 'FP32', [-1, 3, CLIP_IMAGE_SIZE, CLIP_IMAGE_SIZE]) || pixel?.shape[0] !== -1 || !tensorMatches(imageOut, 'FP32', [-1, 'any'])) {
    problems.push(
      `${image.name}: expected input pixel_values FP32[-1,3,${CLIP_IMAGE_SIZE},${CLIP_IMAGE_SIZE}] and output image_embeds FP32[-1,dim], ` +
        `found inputs [${describeTensors(image.inputs)}] and outputs [${describeTensors(image.outputs)}]`,
    );
  }
  const ids = text.inputs.find((t) => t.name === 'input_ids');
  const mask = text.inputs.find((t) => t.name === 'attention_mask');
  const textOut = text.outputs.find((t) => t.name === 'text_embeds');
  const seqOk = (t?: KserveTensorMetadata) => tensorMatches(t, 'INT64', [-1, CLIP_MAX_TOKENS]) && t?.shape[0] === -1;
  const unknown = text.inputs.filter((t) => t.name !== 'input_ids' && t.name !== 'attention_mask');
  if (!seqOk(ids) || (mask && !seqOk(mask)) || unknown.length > 0 || !tensorMatches(textOut, 'FP32', [-1, 'any'])) {
    problems.push(
      `${text.name}: expected input input_ids (and optionally attention_mask) INT64[-1,-1 or ${CLIP_MAX_TOKENS}] and output text_embeds FP32[-1,dim], ` +
        `found inputs [${describeTensors(text.inputs)}] and outputs [${describeTensors(text.outputs)}]`,
    );
  }
  const imageDim = imageOut?.shape[1] ?? -1;
  const textDim = textOut?.shape[1] ?? -1;
  if (problems.length === 0 && (imageDim <= 0 || imageDim !== textDim)) {
    problems.push(`embedding widths must be fixed and equal, found image_embeds ${imageDim} and text_embeds ${textDim}`);
  }
  if (problems.length > 0) throw new Error(`TritonClipEncoder: the models served at ${address} do not look like the CLIP towers: ${problems.join('; ')}`);
  return { dim: imageDim, textTakesMask: mask !== undefined };
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / (Math.sqrt(na * nb) || 1);
}

/**
 * CLIP image and text encoder that runs the towers on Triton (or any KServe v2 gRPC server)
 * serving `clip_image` and `clip_text`. Images are preprocessed and texts tokenised here,
 * exactly as the in-process encoder does, so both give the same vectors for the same weights;
 * tensors travel as little-endian raw contents. Concurrent calls are merged into batches;
 * endpoints fail over by health (see TritonEndpointPool); with `fallbackToOnnx`, the
 * in-process OnnxClipEncoder stands in while no endpoint can serve.
 *
 * Identity: with the fallback, the local ONNX model's (the fallback guarantees the same
 * space, and the start-up check proves Triton agrees); without it, `<image>+<text>` model
 * names and the pinned versions from ModelMetadata.
 */
export class TritonClipEncoder implements ImageTextEncoder {
  private readonly images: MicroBatcher<ImageItem, Float32Array>;
  private readonly texts: MicroBatcher<TextItem, Float32Array>;
  private remote?: RemoteModels;
  /** Set when Triton was found to disagree with the fallback: it is then never used. */
  private remoteRefused?: string;
  private servingFromFallback = false;
  private closed = false;

  private constructor(
    readonly info: EncoderInfo,
    private readonly pool: TritonEndpointPool,
    private readonly tokenizer: ClipTokenizer,
    private readonly fallback: OnnxClipEncoder | undefined,
    private readonly options: TritonClipEncoderOptions,
    remote: RemoteModels | undefined,
  ) {
    this.remote = remote;
    const batching = (tower: 'clip-image' | 'clip-text') => ({
      maxBatch: options.batchSize ?? 16,
      maxWaitMs: options.batchWaitMs ?? 5,
      onBatch: (size: number, seconds: number) => options.onBatch?.(tower, size, seconds),
    });
    this.images = new MicroBatcher((items) => this.runImages(items), batching('clip-image'));
    this.texts = new MicroBatcher((items) => this.runTexts(items), batching('clip-text'));
  }

  static async load(options: TritonClipEncoderOptions): Promise<TritonClipEncoder> {
    const batchSize = options.batchSize ?? 16;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`TritonClipEncoder: batchSize must be a positive integer, got ${batchSize}`);
    if (!(options.timeoutMs > 0)) throw new Error(`TritonClipEncoder: timeoutMs (TRITON_TIMEOUT_MS) must be positive, got ${options.timeoutMs}`);
    const dir = resolve(options.modelDir);
    const tokenizerPath = join(dir, 'tokenizer.json');
    if (!existsSync(tokenizerPath)) {
      throw new Error(`TritonClipEncoder: ${tokenizerPath} not found; the CLIP folder must hold the tokenizer even when Triton runs the model`);
    }
    const tokenizer = ClipTokenizer.fromFile(tokenizerPath);
    const log = options.logger;

    let fallback: OnnxClipEncoder | undefined;
    if (options.fallbackToOnnx) {
      try {
        fallback = await OnnxClipEncoder.load({
          modelDir: dir,
          batchSize,
          intraOpThreads: options.intraOpThreads,
          maxPixels: options.maxPixels,
          spinThreads: options.spinThreads,
        });
      } catch (error) {
        throw new Error(`TritonClipEncoder: the ONNX fallback (TRITON_FALLBACK_ONNX=true) cannot load ${dir}: ${(error as Error).message}`);
      }
    }

    const connect = options.connect ?? ((address: string) => new KserveGrpcClient(address));
    const endpoints: KserveEndpoint[] = [];
    let pool: TritonEndpointPool | undefined;
    try {
      for (const address of options.endpoints) endpoints.push(connect(address));
      pool = new TritonEndpointPool(endpoints, { probeTimeoutMs: Math.min(options.timeoutMs, 2_000), retryDownAfterMs: options.retryDownAfterMs });
      const imageModel = options.imageModel ?? DEFAULT_IMAGE_MODEL;
      const textModel = options.textModel ?? DEFAULT_TEXT_MODEL;
      pool.requireModels([
        { name: imageModel, version: '' },
        { name: textModel, version: '' },
      ]);

      let remote: RemoteModels | undefined;
      try {
        remote = await readRemoteModels(pool, options);
      } catch (error) {
        if (!(error instanceof NoHealthyEndpointError) || !fallback) {
          const hint = error instanceof NoHealthyEndpointError ? '. Start Triton, fix TRITON_ENDPOINTS, or set TRITON_FALLBACK_ONNX=true' : '';
          throw new Error(`TritonClipEncoder: ${(error as Error).message}${hint}`);
        }
        log?.warn(`no Triton endpoint answers yet; embedding in process with ${fallback.info.modelId} until one does`, { reason: error.message });
      }
      if (remote && fallback) {
        // At start-up a disagreement is fatal: better no service than an index of mixed spaces.
        const problem = await disagreementWithFallback(pool, remote, fallback, tokenizer, options);
        if (problem) throw new Error(`TritonClipEncoder: ${problem}`);
      }
      // With the fallback, its identity (it defines the space); else what Triton reports.
      const info: EncoderInfo = fallback?.info ?? {
        modelId: `${imageModel}+${textModel}`,
        modelVersion: `${remote?.image.version ?? ''}+${remote?.text.version ?? ''}`,
        dim: remote?.dim ?? 0,
      };
      const encoder = new TritonClipEncoder(info, pool, tokenizer, fallback, options, remote);
      encoder.servingFromFallback = !remote;
      return encoder;
    } catch (error) {
      if (pool) pool.close();
      else for (const e of endpoints) e.close();
      await fallback?.close();
      throw error;
    }
  }

  /** Health of each endpoint, for readiness reports. */
  endpointHealth(): EndpointHealth[] {
    return this.pool.health();
  }

  /**
   * Readiness: asks KServe v2 ServerReady of the endpoints in the pool's order (an endpoint not
   * known healthy is probed first, its models included). Fails when none is ready.
   */
  async serverReady(timeoutMs: number): Promise<{ address: string }> {
    return this.pool.run('ServerReady', async (endpoint) => {
      if (!(await endpoint.serverReady(timeoutMs))) throw new Error(`Triton at ${endpoint.address} is live but not ready`);
      return { address: endpoint.address };
    });
  }

  /** Whether the in-process fallback can serve when Triton cannot. */
  get hasFallback(): boolean {
    return this.fallback !== undefined;
  }

  /** True while the last batch was embedded by the in-process fallback. */
  get usingFallback(): boolean {
    return this.servingFromFallback;
  }

  async embedImages(images: Buffer[]): Promise<Float32Array[]> {
    this.assertOpen();
    if (images.length === 0) return [];
    const items = new Array<ImageItem>(images.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < images.length) {
        const i = next++;
        try {
          items[i] = { bytes: images[i], pixels: await preprocessForClip(images[i], { maxPixels: this.options.maxPixels }) };
        } catch (err) {
          throw new Error(`image ${i}: ${(err as Error).message}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PREPROCESS_CONCURRENCY, images.length) }, worker));
    return Promise.all(items.map((item) => this.images.add(item)));
  }

  async embedTexts(texts: string[]): Promise<Float32Array[]> {
    this.assertOpen();
    // Added synchronously, so concurrent callers' texts land in the same batch.
    return Promise.all(texts.map((text) => this.texts.add({ text, ids: this.tokenizer.encode(text) })));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pool.close();
    await this.fallback?.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('TritonClipEncoder: used after close()');
  }

  private runImages(items: readonly ImageItem[]): Promise<Float32Array[]> {
    return this.viaTritonOrFallback(
      'clip-image',
      (remote, endpoint) => this.inferImages(remote, endpoint, items),
      (fallback) => fallback.embedImages(items.map((i) => i.bytes)),
    );
  }

  private runTexts(items: readonly TextItem[]): Promise<Float32Array[]> {
    return this.viaTritonOrFallback(
      'clip-text',
      (remote, endpoint) => this.inferTexts(remote, endpoint, items),
      (fallback) => fallback.embedTexts(items.map((i) => i.text)),
    );
  }

  private async viaTritonOrFallback(
    tower: 'clip-image' | 'clip-text',
    remoteCall: (remote: RemoteModels, endpoint: KserveEndpoint) => Promise<Float32Array[]>,
    fallbackCall: (fallback: OnnxClipEncoder) => Promise<Float32Array[]>,
  ): Promise<Float32Array[]> {
    this.assertOpen();
    if (this.remoteRefused && this.fallback) return fallbackCall(this.fallback);
    try {
      const remote = this.remote ?? (await this.connectRemote());
      if (this.remoteRefused && this.fallback) return fallbackCall(this.fallback);
      const model = tower === 'clip-image' ? remote.image.name : remote.text.name;
      const vectors = await this.pool.run(`ModelInfer ${model}`, (endpoint) => remoteCall(remote, endpoint));
      if (this.servingFromFallback) {
        this.servingFromFallback = false;
        this.options.logger?.info('Triton serves again; the in-process fallback is idle', { endpoints: this.pool.health() });
      }
      return vectors;
    } catch (error) {
      if (!(error instanceof NoHealthyEndpointError) || !this.fallback) throw error;
      if (!this.servingFromFallback) {
        this.servingFromFallback = true;
        this.options.logger?.warn(`no Triton endpoint can serve; embedding in process with ${this.fallback.info.modelId} until one recovers`, {
          reason: error.message,
        });
      }
      return fallbackCall(this.fallback);
    }
  }

  /** Connects on first use when Triton was unreachable at start-up. */
  private async connectRemote(): Promise<RemoteModels> {
    const remote = await readRemoteModels(this.pool, this.options);
    if (this.fallback) {
      const problem = await disagreementWithFallback(this.pool, remote, this.fallback, this.tokenizer, this.options);
      if (problem) {
        // The service is running on the fallback already: stay on it rather than fail.
        this.remoteRefused = problem;
        this.options.logger?.error(`not using Triton: ${problem}`);
        return remote;
      }
    }
    this.remote = remote;
    return remote;
  }

  private inferImages(remote: RemoteModels, endpoint: KserveEndpoint, items: readonly ImageItem[]): Promise<Float32Array[]> {
    return inferImages(endpoint, remote, items, this.options.timeoutMs);
  }

  private inferTexts(remote: RemoteModels, endpoint: KserveEndpoint, items: readonly TextItem[]): Promise<Float32Array[]> {
    return inferTexts(endpoint, remote, items, this.tokenizer.padId, this.options.timeoutMs);
  }
}

let requestCount = 0;
const nextRequestId = (): string => `adseed-${process.pid}-${++requestCount}`;

/** Reads and checks both models' metadata from the first endpoint that answers, and pins their versions. */
async function readRemoteModels(pool: TritonEndpointPool, options: TritonClipEncoderOptions): Promise<RemoteModels> {
  const imageModel = options.imageModel ?? DEFAULT_IMAGE_MODEL;
  const textModel = options.textModel ?? DEFAULT_TEXT_MODEL;
  const timeout = options.timeoutMs;
  const remote = await pool.run(`ModelMetadata ${imageModel}, ${textModel}`, async (endpoint) => {
    const [image, text] = await Promise.all([endpoint.modelMetadata(imageModel, '', timeout), endpoint.modelMetadata(textModel, '', timeout)]);
    const { dim, textTakesMask } = validateMetadata(image, text, endpoint.address);
    return { image: { name: imageModel, version: newestVersion(image) }, text: { name: textModel, version: newestVersion(text) }, dim, textTakesMask };
  });
  // From now on an endpoint only counts as healthy if it serves these very versions.
  pool.requireModels([remote.image, remote.text]);
  return remote;
}

/** Why Triton may not stand in for the fallback (or the reverse), or undefined when they agree. */
async function disagreementWithFallback(
  pool: TritonEndpointPool,
  remote: RemoteModels,
  fallback: OnnxClipEncoder,
  tokenizer: ClipTokenizer,
  options: TritonClipEncoderOptions,
): Promise<string | undefined> {
  if (remote.dim !== fallback.info.dim) {
    return `Triton's CLIP has ${remote.dim}-d embeddings but the ONNX fallback in ${options.modelDir} has ${fallback.info.dim}-d; serve the same model or set TRITON_FALLBACK_ONNX=false`;
  }
  const item: TextItem = { text: AGREEMENT_PROBE_TEXT, ids: tokenizer.encode(AGREEMENT_PROBE_TEXT) };
  const [viaTriton] = await pool.run(`ModelInfer ${remote.text.name}`, (endpoint) => inferTexts(endpoint, remote, [item], tokenizer.padId, options.timeoutMs));
  const [local] = await fallback.embedTexts([AGREEMENT_PROBE_TEXT]);
  const similarity = cosine(viaTriton, local);
  if (similarity < AGREEMENT_MIN_COSINE) {
    return (
      `Triton's ${remote.text.name} and the ONNX fallback in ${options.modelDir} disagree (cosine ${similarity.toFixed(4)} on a probe text): ` +
      'falling back would mix two embedding spaces in one index; serve the same model on both or set TRITON_FALLBACK_ONNX=false'
    );
  }
  return undefined;
}

async function inferImages(endpoint: KserveEndpoint, remote: RemoteModels, items: readonly ImageItem[], timeoutMs: number): Promise<Float32Array[]> {
  const batch = new Float32Array(items.length * PIXEL_PLANE);
  items.forEach((item, i) => batch.set(item.pixels, i * PIXEL_PLANE));
  const reply = await endpoint.modelInfer(
    {
      modelName: remote.image.name,
      modelVersion: remote.image.version,
      id: nextRequestId(),
      inputs: [{ name: 'pixel_values', datatype: 'FP32', shape: [items.length, 3, CLIP_IMAGE_SIZE, CLIP_IMAGE_SIZE], data: float32ToLittleEndian(batch) }],
      outputs: ['image_embeds'],
    },
    timeoutMs,
  );
  return embeddingRows(reply.outputs, 'image_embeds', items.length, remote.dim, `Triton ${remote.image.name} on ${endpoint.address}`);
}

async function inferTexts(
  endpoint: KserveEndpoint,
  remote: RemoteModels,
  items: readonly TextItem[],
  padId: number,
  timeoutMs: number,
): Promise<Float32Array[]> {
  // Fixed 77-token rows: Triton's dynamic batcher merges only requests of equal shape.
  const { inputIds, attentionMask } = tokenRowsToTensors(
    items.map((i) => i.ids),
    CLIP_MAX_TOKENS,
    padId,
  );
  const shape = [items.length, CLIP_MAX_TOKENS];
  // Exactly the inputs the model declares: Triton rejects a request with an unknown input.
  const inputs: KserveInferInput[] = [{ name: 'input_ids', datatype: 'INT64', shape, data: int64ToLittleEndian(inputIds) }];
  if (remote.textTakesMask) inputs.push({ name: 'attention_mask', datatype: 'INT64', shape, data: int64ToLittleEndian(attentionMask) });
  const reply = await endpoint.modelInfer(
    {
      modelName: remote.text.name,
      modelVersion: remote.text.version,
      id: nextRequestId(),
      inputs,
      outputs: ['text_embeds'],
    },
    timeoutMs,
  );
  return embeddingRows(reply.outputs, 'text_embeds', items.length, remote.dim, `Triton ${remote.text.name} on ${endpoint.address}`);
}
