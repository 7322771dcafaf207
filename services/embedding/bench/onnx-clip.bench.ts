// Throughput of OnnxClipEncoder.embedImages, end to end (JPEG decode, Pillow-exact resize,
// onnxruntime). Not a test: run by hand or from a bench script.
//   node services/embedding/bench/dist/onnx-clip.bench.js <modelDir> [batchSizes=1,16] [images=32]
import sharp from 'sharp';

import { preprocessForClip } from '@adseed/embedding/dist/encoders/clip/clip-preprocess';
import { OnnxClipEncoder } from '@adseed/embedding/dist/encoders/clip/onnx-clip.encoder';

export interface ClipImageBenchResult {
  readonly batchSize: number;
  readonly images: number;
  readonly seconds: number;
  readonly imagesPerSecond: number;
  /**
   * Process CPU time (all onnxruntime and libvips threads) per image: less disturbed than wall
   * time when the machine is shared; cores ÷ this bounds images/s on an idle machine.
   */
  readonly cpuSecondsPerImage: number;
  /** Decode + resize + normalise alone, per image (single-threaded JS part included). */
  readonly preprocessMsPerImage: number;
}

/** Deterministic photo-sized JPEGs (640×480, textured) so decode and resize cost what real photos cost. */
export async function benchImages(count: number): Promise<Buffer[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      sharp({ create: { width: 640, height: 480, channels: 3, background: '#000000', noise: { type: 'gaussian', mean: 96 + (i % 64), sigma: 40 } } })
        .jpeg({ quality: 85 })
        .toBuffer(),
    ),
  );
}

export async function benchOnnxClipImages(opts: {
  modelDir: string;
  batchSizes: readonly number[];
  images: number;
  intraOpThreads?: number;
}): Promise<ClipImageBenchResult[]> {
  const images = await benchImages(opts.images);
  let started = process.hrtime.bigint();
  for (const img of images) await preprocessForClip(img);
  const preprocessMsPerImage = Number(process.hrtime.bigint() - started) / 1e6 / images.length;

  const results: ClipImageBenchResult[] = [];
  for (const batchSize of opts.batchSizes) {
    const encoder = await OnnxClipEncoder.load({ modelDir: opts.modelDir, batchSize, intraOpThreads: opts.intraOpThreads });
    try {
      await encoder.embedImages(images.slice(0, batchSize)); // warm-up: first run allocates
      started = process.hrtime.bigint();
      const cpuBefore = process.cpuUsage();
      await encoder.embedImages(images);
      const cpu = process.cpuUsage(cpuBefore);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      results.push({
        batchSize,
        images: images.length,
        seconds,
        imagesPerSecond: images.length / seconds,
        cpuSecondsPerImage: (cpu.user + cpu.system) / 1e6 / images.length,
        preprocessMsPerImage,
      });
    } finally {
      await encoder.close();
    }
  }
  return results;
}

if (require.main === module) {
  const [modelDir, batches = '1,16', count = '32'] = process.argv.slice(2);
  if (!modelDir) {
    console.error('usage: onnx-clip.bench.js <modelDir> [batchSizes=1,16] [images=32]');
    process.exit(2);
  }
  benchOnnxClipImages({ modelDir, batchSizes: batches.split(',').map(Number), images: Number(count) })
    .then((rows) => {
      for (const r of rows) {
        console.log(
          `batch ${r.batchSize}: ${r.imagesPerSecond.toFixed(2)} images/s (${r.images} images in ${r.seconds.toFixed(2)} s, ` +
            `${r.cpuSecondsPerImage.toFixed(3)} CPU-s/image; preprocessing alone ${r.preprocessMsPerImage.toFixed(1)} ms/image)`,
        );
      }
    })
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    });
}
