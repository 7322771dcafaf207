import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ImageModerationUnavailableError, type ImageGuardrail, type ImageVerdict } from './image-guardrail.port';
import { checkNsfwThresholds, nsfwVerdict, type NsfwjsImageGuardrailOptions } from './nsfwjs.image-classifier';
import { nsfwModelLabel, type NsfwScorerOptions } from './nsfw-scorer';
import type { FromNsfwWorker, ToNsfwWorker } from './nsfw-worker.protocol';

export interface WorkerImageGuardrailOptions extends NsfwjsImageGuardrailOptions {
  /** Worker threads, each with its own copy of the model (≈ 15 MB for MobileNetV2); default 1. */
  workers?: number;
  /** A classification that has not answered by then (queueing included) fails as unavailable; its worker, if it was running it, is replaced. Default 30 s. */
  timeoutMs?: number;
  /** Told when a worker thread died or was replaced, and why. */
  onWorkerExit?: (reason: string) => void;
  /** The worker script (tests put a stand-in here); default: the nsfwjs worker beside this file. */
  script?: string;
}

interface Job {
  id: number;
  image: Uint8Array;
  resolve(probabilities: number[]): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
  slot?: Slot;
}

interface Slot {
  worker: Worker;
  job?: Job;
  ready: Promise<void>;
  /** Why the worker is being replaced, when the pool ended it (timeout). */
  ending?: string;
}

/**
 * nsfwjs in worker threads: the same verdicts as NsfwjsImageGuardrail, without blocking the
 * caller's event loop for the ≈ 50–300 ms an inference takes (the gateway answers other requests
 * meanwhile). Each worker loads the model once and classifies one image at a time; calls beyond
 * the pool's size wait in order. The image travels as a copy in a buffer of its own that is
 * transferred to the worker (the caller keeps its Buffer, which it usually goes on to store).
 *
 * A worker that crashes (or exits) fails the classification it was running with
 * ImageModerationUnavailableError and is replaced at once; one that crashes again before
 * answering anything is replaced after a growing pause (up to 10 s), so a model that cannot load
 * does not spin. `close()` ends the threads (the gateway calls it at shutdown); idle workers never
 * keep the process alive.
 */
export class WorkerImageGuardrail implements ImageGuardrail {
  readonly model: string;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private readonly script: string;
  private readonly timeoutMs: number;
  private readonly scorer: NsfwScorerOptions;
  private nextId = 0;
  private crashes = 0;
  private closed = false;
  private readonly restarts = new Set<NodeJS.Timeout>();

  constructor(private readonly options: WorkerImageGuardrailOptions) {
    checkNsfwThresholds(options.thresholds);
    this.model = nsfwModelLabel(options.model, options.runtime);
    this.script = options.script ?? join(__dirname, 'nsfw-classifier.worker.js');
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.scorer = {
      model: options.model,
      ...(options.runtime ? { runtime: options.runtime } : {}),
      ...(options.onnxPath ? { onnxPath: options.onnxPath } : {}),
      ...(options.onnxThreads ? { onnxThreads: options.onnxThreads } : {}),
    };
    const workers = options.workers ?? 1;
    if (!(Number.isInteger(workers) && workers >= 1)) throw new Error(`workers must be a whole number ≥ 1, got ${workers}`);
    for (let i = 0; i < workers; i++) this.slots.push(this.spawn());
  }

  /** Resolves when every worker has loaded the model; rejects (ImageModerationUnavailableError) when one could not. */
  async warmUp(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.ready));
  }

  /** Every class's probability, unrounded, in NSFW_CLASS_NAMES order. */
  probabilities(image: Uint8Array): Promise<number[]> {
    if (this.closed) return Promise.reject(new ImageModerationUnavailableError(`the image classifier ${this.model} is shut down`));
    // A buffer of its own, transferred below: the caller's Buffer may be a slice of a shared pool, and it keeps using it.
    const copy = new Uint8Array(image.byteLength);
    copy.set(image);
    return new Promise<number[]>((resolve, reject) => {
      const job: Job = { id: this.nextId++, image: copy, resolve, reject, timer: setTimeout(() => this.timeOut(job), this.timeoutMs) };
      this.queue.push(job);
      this.dispatch();
    });
  }

  async check(image: Buffer): Promise<ImageVerdict> {
    return nsfwVerdict(await this.probabilities(image), this.options.thresholds, this.model);
  }

  /** Ends the worker threads; calls still waiting fail as unavailable. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.restarts) clearTimeout(t);
    const gone = new ImageModerationUnavailableError(`the image classifier ${this.model} is shut down`);
    for (const job of this.queue.splice(0)) this.settle(job, gone);
    await Promise.all(
      this.slots.map(async (slot) => {
        if (slot.job) this.settle(slot.job, gone);
        await slot.worker.terminate();
      }),
    );
  }

  private spawn(): Slot {
    const worker = new Worker(this.script, { workerData: this.scorer });
    worker.unref(); // referenced only while it runs a job
    let ready!: { resolve(): void; reject(e: Error): void };
    const slot: Slot = { worker, ready: new Promise<void>((resolve, reject) => (ready = { resolve, reject })) };
    slot.ready.catch(() => undefined); // observed by warmUp(), if anyone calls it
    let lastError: Error | undefined;
    worker.on('message', (message: FromNsfwWorker) => {
      if (message.type === 'ready') {
        this.crashes = 0;
        ready.resolve();
        return;
      }
      if (message.type === 'load-failed') {
        ready.reject(new ImageModerationUnavailableError(message.message));
        return;
      }
      const job = slot.job;
      if (!job || job.id !== message.id) return; // answered after its timeout: its slot was already freed
      slot.job = undefined;
      worker.unref();
      if (message.type === 'result') {
        this.crashes = 0;
        this.settle(job, undefined, message.probabilities);
      } else {
        this.settle(job, message.unavailable ? new ImageModerationUnavailableError(message.message) : new Error(message.message));
      }
      this.dispatch();
    });
    worker.on('error', (error) => (lastError = error));
    worker.on('exit', (code) => {
      if (this.closed) return;
      const reason = slot.ending ?? `the image classifier's worker thread exited (code ${code})${lastError ? `: ${lastError.message}` : ''}`;
      const failure = new ImageModerationUnavailableError(reason);
      ready.reject(failure);
      if (slot.job) this.settle(slot.job, failure);
      slot.job = undefined;
      this.options.onWorkerExit?.(reason);
      this.replace(slot, slot.ending === undefined);
    });
    return slot;
  }

  /** A new worker in the slot's place: at once, or after a growing pause while workers keep crashing without answering. */
  private replace(slot: Slot, crashed: boolean): void {
    const index = this.slots.indexOf(slot);
    if (index < 0) return;
    const delay = crashed && this.crashes++ > 0 ? Math.min(100 * 2 ** this.crashes, 10_000) : 0;
    const start = (): void => {
      if (this.closed) return;
      this.slots[index] = this.spawn();
      this.dispatch();
    };
    if (delay === 0) return start();
    const timer = setTimeout(() => {
      this.restarts.delete(timer);
      start();
    }, delay);
    timer.unref();
    this.restarts.add(timer);
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.queue.length === 0) return;
      if (slot.job || slot.ending) continue;
      const job = this.queue.shift()!;
      slot.job = job;
      job.slot = slot;
      slot.worker.ref();
      const message: ToNsfwWorker = { id: job.id, image: job.image };
      slot.worker.postMessage(message, [job.image.buffer as ArrayBuffer]);
    }
  }

  private timeOut(job: Job): void {
    const failure = new ImageModerationUnavailableError(`the image classifier ${this.model} did not answer within ${this.timeoutMs} ms`);
    const queued = this.queue.indexOf(job);
    if (queued >= 0) this.queue.splice(queued, 1);
    const slot = job.slot;
    this.settle(job, failure);
    if (slot && slot.job === job) {
      // The worker is stuck on it (or far too slow): replace it rather than queue behind it.
      slot.job = undefined;
      slot.ending = failure.message;
      void slot.worker.terminate();
    }
  }

  private settle(job: Job, error?: Error, probabilities?: number[]): void {
    clearTimeout(job.timer);
    if (error) job.reject(error);
    else job.resolve(probabilities!);
  }
}
