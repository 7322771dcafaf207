import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

import * as ort from 'onnxruntime-node';

/** A tensor as it crosses the thread boundary (its buffer is transferred, not copied). */
export interface WireTensor {
  readonly type: string;
  readonly data: Float32Array | BigInt64Array | Int32Array | Uint8Array;
  readonly dims: readonly number[];
}
export interface WorkerStart {
  readonly path: string;
  readonly options: ort.InferenceSession.SessionOptions;
}
export type WorkerRequest = { type: 'run'; id: number; feeds: Record<string, WireTensor> } | { type: 'release' };
export type WorkerReply =
  | { type: 'ready'; inputNames: string[]; outputNames: string[] }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; outputs: Record<string, WireTensor> }
  | { type: 'error'; id: number; message: string }
  | { type: 'released' };

/** The part of ort.InferenceSession the encoders use, so either can stand behind them. */
export interface OnnxSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>>;
  release(): Promise<void>;
}

/**
 * An onnxruntime session on its own worker thread. onnxruntime-node runs a session synchronously
 * on the thread that calls `run`, so a 16-image CLIP batch (1–2 s on 2 cores) on the main thread
 * freezes everything else the process does: the store reads and bus deliveries that would form
 * the next batch, and that batch's decoding and resizing. Here the main thread only posts the
 * input (its buffer transferred, not copied) and keeps working while the model runs.
 */
export class WorkerOnnxSession implements OnnxSession {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve(o: Record<string, ort.Tensor>): void; reject(e: Error): void }>();
  private failure?: Error;

  private constructor(
    private readonly worker: Worker,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
  ) {
    worker.on('message', (reply: WorkerReply) => {
      if (reply.type !== 'result' && reply.type !== 'error') return;
      const waiter = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (reply.type === 'error') waiter?.reject(new Error(reply.message));
      else waiter?.resolve(Object.fromEntries(Object.entries(reply.outputs).map(([n, t]) => [n, new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims)])));
    });
    const fail = (error: Error): void => {
      this.failure ??= error;
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`onnxruntime worker thread exited (code ${code})`)));
  }

  /** Starts the worker and opens the model in it; rejects with onnxruntime's message if it cannot. */
  static async create(path: string, options: ort.InferenceSession.SessionOptions): Promise<WorkerOnnxSession> {
    const worker = new Worker(join(__dirname, 'onnx-session.worker.js'), { workerData: { path, options } satisfies WorkerStart });
    // Named listeners, removed one by one: removeAllListeners() would also drop the ones Worker
    // itself uses to forward messages.
    let onMessage!: (reply: WorkerReply) => void;
    let onError!: (error: Error) => void;
    let onExit!: (code: number) => void;
    const ready = await new Promise<WorkerReply>((resolve, reject) => {
      onMessage = resolve;
      onError = reject;
      onExit = (code) => reject(new Error(`onnxruntime worker thread exited (code ${code}) while loading ${path}`));
      worker.once('message', onMessage).once('error', onError).once('exit', onExit);
    })
      .catch(async (error: Error) => {
        await worker.terminate();
        throw error;
      })
      .finally(() => worker.off('message', onMessage).off('error', onError).off('exit', onExit));
    if (ready.type !== 'ready') {
      await worker.terminate();
      throw new Error(ready.type === 'failed' ? ready.message : `unexpected reply ${ready.type} from the onnxruntime worker`);
    }
    return new WorkerOnnxSession(worker, ready.inputNames, ready.outputNames);
  }

  /** Runs the model off the main thread. The feeds' buffers are transferred: do not reuse them. */
  run(feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const wire: Record<string, WireTensor> = {};
    const transfer: ArrayBuffer[] = [];
    for (const [name, t] of Object.entries(feeds)) {
      const data = t.data as WireTensor['data'];
      wire[name] = { type: t.type, data, dims: [...t.dims] };
      // Only a buffer the tensor owns whole can move; a view into a larger one is copied.
      if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && !transfer.includes(data.buffer as ArrayBuffer)) transfer.push(data.buffer as ArrayBuffer);
    }
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'run', id, feeds: wire } satisfies WorkerRequest, transfer);
    });
  }

  async release(): Promise<void> {
    if (!this.failure) {
      await new Promise<void>((resolve) => {
        const done = (reply: WorkerReply): void => {
          if (reply.type === 'released') resolve();
        };
        this.worker.on('message', done);
        this.worker.once('exit', () => resolve());
        this.worker.postMessage({ type: 'release' } satisfies WorkerRequest);
      });
    }
    this.failure ??= new Error('onnxruntime session released');
    await this.worker.terminate();
  }
}
