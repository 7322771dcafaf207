#!/usr/bin/env node
// Writes a stand-in CLIP model folder (toy or random-weight ViT-B/32) where the real weights
// cannot be downloaded. Usage:
//   node services/embedding/tools/dist/make-clip-models.js --kind toy|vit-b32 --out <dir>
//        [--tokenizer-dir <clip-vit-base-patch32 folder>] [--seed <n>] [--quantized] [--with-attention-mask]
// --quantized (vit-b32 only) writes int8 matmuls to onnx/*_quantized.onnx, like the real q8 export.
// The text tower takes input_ids only, as the real export does; --with-attention-mask adds the
// attention_mask input other CLIP exports declare (same vectors).
// The tokenizer folder defaults to $ADSEED_SHARED_DIR/models/clip-vit-base-patch32.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

import { generateClipModels, sharedClipTokenizerDir } from '@adseed/embedding';

const USAGE = 'usage: make-clip-models --kind toy|vit-b32 --out <dir> [--tokenizer-dir <dir>] [--seed <n>] [--quantized] [--with-attention-mask]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      kind: { type: 'string' },
      out: { type: 'string' },
      'tokenizer-dir': { type: 'string' },
      seed: { type: 'string' },
      quantized: { type: 'boolean' },
      'with-attention-mask': { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const kind = values.kind;
  if (kind !== 'toy' && kind !== 'vit-b32') throw new Error(`--kind must be toy or vit-b32, got ${kind ?? 'nothing'}\n${USAGE}`);
  if (!values.out) throw new Error(`--out is required\n${USAGE}`);
  const tokenizerDir = values['tokenizer-dir'] ?? sharedClipTokenizerDir();
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  if (seed !== undefined && !Number.isInteger(seed)) throw new Error(`--seed must be an integer, got ${values.seed}`);
  const started = process.hrtime.bigint();
  const result = await generateClipModels({
    kind,
    outDir: resolve(values.out),
    tokenizerDir,
    seed,
    quantized: values.quantized ?? false,
    textInputs: values['with-attention-mask'] ? 'input_ids+attention_mask' : 'input_ids',
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`wrote ${result.modelId} to ${resolve(values.out)} in ${seconds.toFixed(1)} s`);
}

main().catch((err: unknown) => {
  console.error(`make-clip-models: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
