/**
 * Latency of the caption encoder on this machine:
 *   node services/embedding/bench/dist/minilm-caption.bench.js [modelDir]
 * (modelDir defaults to <repo>/.cache/models/all-minilm-l6-v2, fetched if missing).
 */
import { join, resolve } from 'node:path';

import { ensureCaptionModel } from '@adseed/embedding';
import { MiniLmCaptionEncoder } from '@adseed/embedding/dist/encoders/caption/minilm-caption.encoder';

export interface CaptionBenchFigure {
  readonly batchSize: number;
  readonly captions: number;
  /** Wall time of embedding all captions, divided by their number. */
  readonly msPerCaption: number;
}

/** Short photo-caption-like texts (6–15 words), the same set on every run. */
export function benchCaptions(count: number): string[] {
  const words = 'dog cat beach sunset red car city street coffee cup woman man smiling running mountain snow forest lake boat bicycle'.split(' ');
  let seed = 1;
  const next = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  return Array.from({ length: count }, () => {
    const n = 4 + Math.floor(next() * 10);
    return `a photo of ${Array.from({ length: n }, () => words[Math.floor(next() * words.length)]).join(' ')}`;
  });
}

export async function benchMiniLmCaptionEncoder(
  modelDir: string,
  options: { batchSizes?: readonly number[]; captions?: number; intraOpThreads?: number } = {},
): Promise<CaptionBenchFigure[]> {
  const captions = benchCaptions(options.captions ?? 256);
  const figures: CaptionBenchFigure[] = [];
  for (const batchSize of options.batchSizes ?? [1, 32]) {
    const encoder = await MiniLmCaptionEncoder.load({ modelDir, batchSize, intraOpThreads: options.intraOpThreads });
    try {
      await encoder.embedTexts(captions.slice(0, Math.max(batchSize, 8))); // warm-up: first runs allocate
      const start = process.hrtime.bigint();
      await encoder.embedTexts(captions);
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      figures.push({ batchSize, captions: captions.length, msPerCaption: ms / captions.length });
    } finally {
      await encoder.close();
    }
  }
  return figures;
}

if (require.main === module) {
  (async () => {
    const modelDir = process.argv[2] ?? (await ensureCaptionModel(join(resolve(__dirname, '../../../..'), '.cache')));
    for (const f of await benchMiniLmCaptionEncoder(modelDir)) {
      console.log(`batchSize=${f.batchSize}: ${f.msPerCaption.toFixed(2)} ms/caption (${f.captions} captions)`);
    }
  })().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
