/**
 * Batches for latency-bound callers (search queries): while the model is idle a request runs at
 * once (after `windowMs`, or within the same event-loop turn when 0, so requests that arrive
 * together still share a run); while a run is in flight, arrivals queue and go together in the
 * next run, at most `maxBatch` per run, one run at a time. Unlike MicroBatcher (ingest), it never
 * holds a lone request back waiting for company. A failed batch is retried item by item so one
 * bad input fails alone.
 */
export class DrainBatcher<I, O> {
  private queue: { item: I; resolve(o: O): void; reject(e: unknown): void }[] = [];
  private running = false;
  private scheduled = false;

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly options: { maxBatch: number; windowMs: number; onBatch?: (size: number, seconds: number) => void },
  ) {
    if (!Number.isInteger(options.maxBatch) || options.maxBatch < 1)
      throw new Error(`DrainBatcher: maxBatch must be a positive integer, got ${options.maxBatch}`);
  }

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    const start = (): void => {
      this.scheduled = false;
      void this.drain();
    };
    if (this.options.windowMs > 0) setTimeout(start, this.options.windowMs);
    else setImmediate(start);
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (this.queue.length > 0) await this.execute(this.queue.splice(0, this.options.maxBatch));
    } finally {
      this.running = false;
    }
  }

  private async execute(batch: typeof this.queue): Promise<void> {
    const started = process.hrtime.bigint();
    try {
      const outputs = await this.run(batch.map((b) => b.item));
      if (outputs.length !== batch.length) throw new Error(`DrainBatcher: ${outputs.length} results for ${batch.length} inputs`);
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
