export interface MicroBatcherOptions {
  /** Most items per batch. */
  readonly maxBatch: number;
  /** How long the oldest queued item may wait for company before its batch runs. */
  readonly maxWaitMs: number;
  /**
   * Most batches running at once (default: no limit). When set, only a full batch may start
   * while another runs (so the next one is decoded while the model works); a batch that is not
   * full waits until the encoder is idle, taking every arrival up to then: the encoder is busy
   * anyway, so waiting costs nothing and makes the batch larger, instead of queueing small
   * batches behind it (small batches cost more per item).
   */
  readonly maxInFlight?: number;
  readonly onBatch?: (size: number, seconds: number) => void;
}

/**
 * Collects single requests into batches for an encoder: a batch runs when it is full or when
 * the oldest request has waited `maxWaitMs`. If a batch fails, its items are retried one by one
 * so a single bad input (a corrupt image) fails alone instead of failing its neighbours.
 */
export class MicroBatcher<I, O> {
  private queue: { item: I; resolve(o: O): void; reject(e: unknown): void }[] = [];
  private timer?: NodeJS.Timeout;
  private inFlight = 0;
  /** The wait expired (or a batch filled) while the limit held it back: run when a batch ends. */
  private due = false;

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly options: MicroBatcherOptions,
  ) {
    const limit = options.maxInFlight;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new Error(`MicroBatcher: maxInFlight must be a positive integer, got ${limit}`);
  }

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length >= this.options.maxBatch) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.options.maxWaitMs);
    });
  }

  private atLimit(): boolean {
    const limit = this.options.maxInFlight;
    if (limit === undefined) return false;
    return this.inFlight >= limit || (this.inFlight > 0 && this.queue.length < this.options.maxBatch);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.atLimit()) {
      this.due = this.queue.length > 0;
      return;
    }
    this.due = false;
    const batch = this.queue.splice(0, this.options.maxBatch);
    if (batch.length > 0) void this.execute(batch);
    if (this.queue.length >= this.options.maxBatch) this.flush();
    else if (this.queue.length > 0) this.timer = setTimeout(() => this.flush(), this.options.maxWaitMs);
  }

  private async execute(batch: typeof this.queue): Promise<void> {
    this.inFlight++;
    try {
      await this.runBatch(batch);
    } finally {
      this.inFlight--;
      if (this.due) this.flush();
    }
  }

  private async runBatch(batch: typeof this.queue): Promise<void> {
    const started = process.hrtime.bigint();
    try {
      const outputs = await this.run(batch.map((b) => b.item));
      this.options.onBatch?.(batch.length, Number(process.hrtime.bigint() - started) / 1e9);
      batch.forEach((b, i) => b.resolve(outputs[i]));
    } catch (error) {
      if (batch.length === 1) return batch[0].reject(error);
      for (const entry of batch) {
        try {
          const [output] = await this.run([entry.item]);
          entry.resolve(output);
        } catch (single) {
          entry.reject(single);
        }
      }
    }
  }
}
