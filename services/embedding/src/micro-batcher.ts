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
  /**
   * Callers announce each item with `reserve()` before they have it (an ingest event announces
   * its image before reading it from the store). With `maxInFlight`, a partial batch then also
   * starts beside a running one when nothing more is announced: waiting could not make it larger,
   * and starting it now overlaps its decoding with the running batch's inference. (On an idle
   * encoder a partial batch still waits up to `maxWaitMs`: events that are not yet delivered may
   * come, and batches of one cost more per item.) The ingest's events are delivered one per partition, so the items in
   * flight never exceed the partitions (16): batches of 16 never fill while one runs, and without
   * this a partial batch waited for an idle encoder and ran alone (mean batch ~4).
   */
  readonly announced?: boolean;
  readonly onBatch?: (size: number, seconds: number) => void;
}

/** An announced item: `add` it once it is at hand, or `release` the slot if it never comes. */
export interface BatchSlot<I, O> {
  add(item: I): Promise<O>;
  /** Gives the slot up (a no-op after `add`). */
  release(): void;
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
  /** Items reserved but not yet added (see `announced`). */
  private pending = 0;
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
      if (this.queue.length >= this.options.maxBatch || (this.inFlight > 0 && this.nothingMoreAnnounced())) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.options.maxWaitMs);
    });
  }

  /** Announces an item that will be added (or released) soon; see `MicroBatcherOptions.announced`. */
  reserve(): BatchSlot<I, O> {
    this.pending++;
    let open = true;
    const close = (): void => {
      if (!open) throw new Error('MicroBatcher: a reserved slot takes one item');
      open = false;
      this.pending--;
    };
    return {
      add: (item) => {
        close();
        return this.add(item);
      },
      release: () => {
        if (!open) return;
        close();
        if (this.queue.length > 0 && this.inFlight > 0 && this.nothingMoreAnnounced()) this.flush();
      },
    };
  }

  private nothingMoreAnnounced(): boolean {
    return this.options.announced === true && this.options.maxInFlight !== undefined && this.pending === 0;
  }

  private atLimit(): boolean {
    const limit = this.options.maxInFlight;
    if (limit === undefined) return false;
    return this.inFlight >= limit || (this.inFlight > 0 && this.queue.length < this.options.maxBatch && !this.nothingMoreAnnounced());
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
