/**
 * Collects single requests into batches for an encoder: a batch runs when it is full or when
 * the oldest request has waited `maxWaitMs`. If a batch fails, its items are retried one by one
 * so a single bad input (a corrupt image) fails alone instead of failing its neighbours.
 */
export class MicroBatcher<I, O> {
  private queue: { item: I; resolve(o: O): void; reject(e: unknown): void }[] = [];
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly options: { maxBatch: number; maxWaitMs: number; onBatch?: (size: number, seconds: number) => void },
  ) {}

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length >= this.options.maxBatch) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.options.maxWaitMs);
    });
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.queue.splice(0, this.options.maxBatch);
    if (this.queue.length > 0) this.timer = setTimeout(() => this.flush(), this.options.maxWaitMs);
    if (batch.length > 0) void this.execute(batch);
  }

  private async execute(batch: typeof this.queue): Promise<void> {
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
