import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

import * as ort from 'onnxruntime-node';

/** A tensor as it crosses the thread boundary (its buffer is transferred, not copied). */
export interface WireTensor {
  readonly type: string;
  readonly data: Float32Array | BigInt64Array | Int32Array | Uint8Array;
  readonly dims: readonly number[];
}
export interface WireRun {
  readonly id: number;
  readonly session: number;
  readonly feeds: Record<string, WireTensor>;
}
export type WorkerRequest =
  | { type: 'open'; session: number; path: string; options: ort.InferenceSession.SessionOptions }
  | { type: 'run'; runs: WireRun[] }
  | { type: 'release'; session: number };
export type WorkerReply =
  | { type: 'opened'; session: number; inputNames: string[]; outputNames: string[] }
  | { type: 'failed'; session: number; message: string }
  | { type: 'results'; results: ({ id: number; outputs: Record<string, WireTensor> } | { id: number; error: string })[] }
  | { type: 'released'; session: number };

/** The part of ort.InferenceSession the encoders use, so either can stand behind them. */
export interface OnnxSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>>;
  release(): Promise<void>;
}

/**
 * A worker thread hosting onnxruntime sessions. onnxruntime-node runs a session synchronously on
 * the thread that calls `run`, so a 16-image CLIP batch (1–2 s on 2 cores) on the main thread
 * freezes everything else the process does: the store reads and bus deliveries that would form
 * the next batch, and that batch's decoding and resizing. Here the main thread only posts the
 * input (its buffer transferred, not copied) and keeps working while the model works.
 *
 * Several sessions may share one worker (the CLIP text tower and the caption encoder): runs
 * requested in the same turn of the event loop travel in one message and come back in one, so a
 * query batch costs one thread hand-over each way however many towers and texts it has. Each
 * hand-over means waking a thread, which waits for a core when other work saturates them.
 */
export class OnnxWorkerHost {
  /** Runs requested and messages that carried them to the worker. */
  readonly stats = { runs: 0, messages: 0 };
  private nextSession = 0;
  private nextRun = 0;
  private readonly opening = new Map<number, { resolve(r: Extract<WorkerReply, { type: 'opened' }>): void; reject(e: Error): void }>();
  private readonly pending = new Map<number, { resolve(o: Record<string, ort.Tensor>): void; reject(e: Error): void }>();
  private readonly releasing = new Map<number, () => void>();
  private outbox: { runs: WireRun[]; transfer: ArrayBuffer[] } | undefined;
  private failure?: Error;
  private readonly worker: Worker;

  /** `ownedBySession`: the host of one session, ended when that session is released. */
  constructor(private readonly ownedBySession = false) {
    this.worker = new Worker(join(__dirname, 'onnx-session.worker.js'));
    this.worker.on('message', (reply: WorkerReply) => this.receive(reply));
    const fail = (error: Error): void => {
      this.failure ??= error;
      for (const waiter of [...this.pending.values(), ...this.opening.values()]) waiter.reject(error);
      this.pending.clear();
      this.opening.clear();
      for (const done of this.releasing.values()) done();
      this.releasing.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`onnxruntime worker thread exited (code ${code})`)));
  }

  /** Opens a model in the worker; rejects with onnxruntime's message if it cannot. */
  async open(path: string, options: ort.InferenceSession.SessionOptions): Promise<WorkerOnnxSession> {
    if (this.failure) throw this.failure;
    const session = this.nextSession++;
    const opened = await new Promise<Extract<WorkerReply, { type: 'opened' }>>((resolve, reject) => {
      this.opening.set(session, { resolve, reject });
      this.worker.postMessage({ type: 'open', session, path, options } satisfies WorkerRequest);
    });
    return new WorkerOnnxSession(this, session, opened.inputNames, opened.outputNames);
  }

  /** Queues a run; runs queued in the same event-loop turn are posted together. */
  run(session: number, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextRun++;
    const wire: Record<string, WireTensor> = {};
    if (!this.outbox) {
      this.outbox = { runs: [], transfer: [] };
      setImmediate(() => this.flush());
    }
    const { transfer } = this.outbox;
    for (const [name, t] of Object.entries(feeds)) {
      const data = t.data as WireTensor['data'];
      wire[name] = { type: t.type, data, dims: [...t.dims] };
      // Only a buffer the tensor owns whole can move; a view into a larger one is copied.
      if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && !transfer.includes(data.buffer as ArrayBuffer))
        transfer.push(data.buffer as ArrayBuffer);
    }
    this.outbox.runs.push({ id, session, feeds: wire });
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  /** Closes one session (and the worker with it, if it was that session's own). */
  async release(session: number): Promise<void> {
    if (!this.failure) {
      await new Promise<void>((resolve) => {
        this.releasing.set(session, resolve);
        this.worker.postMessage({ type: 'release', session } satisfies WorkerRequest);
      });
    }
    if (this.ownedBySession) await this.terminate();
  }

  /** Ends the worker (its sessions with it). */
  async terminate(): Promise<void> {
    this.failure ??= new Error('onnxruntime worker closed');
    await this.worker.terminate();
  }

  private flush(): void {
    const outbox = this.outbox;
    this.outbox = undefined;
    if (!outbox || outbox.runs.length === 0) return;
    if (this.failure) {
      for (const run of outbox.runs) this.settle(run.id, this.failure);
      return;
    }
    this.stats.runs += outbox.runs.length;
    this.stats.messages++;
    this.worker.postMessage({ type: 'run', runs: outbox.runs } satisfies WorkerRequest, outbox.transfer);
  }

  private settle(id: number, result: Error | Record<string, ort.Tensor>): void {
    const waiter = this.pending.get(id);
    this.pending.delete(id);
    if (result instanceof Error) waiter?.reject(result);
    else waiter?.resolve(result);
  }

  private receive(reply: WorkerReply): void {
    switch (reply.type) {
      case 'opened':
      case 'failed': {
        const waiter = this.opening.get(reply.session);
        this.opening.delete(reply.session);
        if (reply.type === 'opened') waiter?.resolve(reply);
        else waiter?.reject(new Error(reply.message));
        return;
      }
      case 'results':
        for (const r of reply.results) {
          if ('error' in r) this.settle(r.id, new Error(r.error));
          else
            this.settle(
              r.id,
              Object.fromEntries(Object.entries(r.outputs).map(([n, t]) => [n, new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims)])),
            );
        }
        return;
      case 'released': {
        const done = this.releasing.get(reply.session);
        this.releasing.delete(reply.session);
        done?.();
        return;
      }
    }
  }
}

/** One onnxruntime session in an OnnxWorkerHost (its own, or one shared with other sessions). */
export class WorkerOnnxSession implements OnnxSession {
  private released = false;

  constructor(
    private readonly host: OnnxWorkerHost,
    private readonly session: number,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
  ) {}

  /** A session on a worker of its own; rejects with onnxruntime's message if it cannot load. */
  static async create(path: string, options: ort.InferenceSession.SessionOptions, host?: OnnxWorkerHost): Promise<WorkerOnnxSession> {
    const worker = host ?? new OnnxWorkerHost(true);
    try {
      return await worker.open(path, options);
    } catch (error) {
      if (!host) await worker.terminate();
      throw error;
    }
  }

  /** Runs the model off the main thread. The feeds' buffers are transferred: do not reuse them. */
  run(feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
    if (this.released) return Promise.reject(new Error('onnxruntime session released'));
    return this.host.run(this.session, feeds);
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.host.release(this.session);
  }
}
