import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { CLIP_IMAGE_SIZE, CLIP_MEAN, CLIP_STD } from './clip-preprocess';
import { CLIP_MAX_TOKENS, ClipTokenizer } from './clip-tokenizer';
import { OnnxDataType, OnnxGraphBuilder } from './onnx-graph.builder';

/**
 * Writes stand-in CLIP model directories in the layout of `Xenova/clip-vit-base-patch32`
 * (onnx/vision_model.onnx, onnx/text_model.onnx, tokenizer.json, configs), for machines
 * without the real weights:
 * - `toy`: < 1 MB, colour-aware, so tests can check that a text about a colour ranks images of
 *   that colour first through the real tokenizer and preprocessing.
 * - `vit-b32`: the ViT-B/32 architecture with seeded random weights (~600 MB), so throughput
 *   measurements cost what the real model costs. Its embeddings mean nothing.
 */
export type ClipModelKind = 'toy' | 'vit-b32';

export interface GenerateClipModelsOptions {
  readonly kind: ClipModelKind;
  readonly outDir: string;
  /** Directory with the real tokenizer.json and configs (the shared clip-vit-base-patch32 folder). */
  readonly tokenizerDir: string;
  /** Seed for the random weights; same seed, same bytes. */
  readonly seed?: number;
  /**
   * vit-b32 only: write int8 dynamically quantised matmuls (DynamicQuantizeLinear +
   * MatMulInteger, as the published q8 export does) to `*_quantized.onnx` instead of fp32.
   */
  readonly quantized?: boolean;
  /**
   * Text tower inputs. `input_ids` (default) is the signature of the real Xenova export;
   * `input_ids+attention_mask` is the one other CLIP exports declare. Both give the same vectors.
   */
  readonly textInputs?: ClipTextSignature;
}

export type ClipTextSignature = 'input_ids' | 'input_ids+attention_mask';
export const CLIP_TEXT_SIGNATURES: readonly ClipTextSignature[] = ['input_ids', 'input_ids+attention_mask'];

export interface GeneratedClipModels {
  readonly modelId: string;
  readonly visionPath: string;
  readonly textPath: string;
}

const OPSET = 17;
const EMBED_DIM = 512;
const CONFIG_FILES = ['config.json', 'preprocessor_config.json', 'tokenizer_config.json', 'special_tokens_map.json'];

export const TOY_MODEL_ID = 'adseed/clip-toy-colour';
export const RANDOM_VIT_B32_MODEL_ID = 'adseed/clip-vit-b32-random';

/**
 * Colour words and the RGB a photo of that colour roughly has. The toy text tower puts each
 * word where the toy image tower puts an image of that mean colour.
 */
export const TOY_COLOUR_WORDS: Readonly<Record<string, readonly [number, number, number]>> = {
  red: [220, 30, 30],
  green: [40, 170, 60],
  blue: [30, 60, 220],
  yellow: [240, 220, 40],
  orange: [245, 140, 20],
  purple: [130, 50, 160],
  pink: [245, 150, 190],
  brown: [130, 80, 40],
  black: [15, 15, 15],
  white: [245, 245, 245],
  magenta: [220, 40, 200],
};

/** Small seeded PRNG (mulberry32): generated weights must not depend on Math.random. */
function seededUniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomTensor(rand: () => number, count: number, std: number): Float32Array {
  // Uniform with the requested standard deviation: cheap, and the values only need to be tame.
  const half = std * Math.sqrt(3);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = (rand() * 2 - 1) * half;
  return out;
}

function normalisedColour(rgb: readonly [number, number, number]): number[] {
  return rgb.map((v, c) => (v / 255 - CLIP_MEAN[c]) / CLIP_STD[c]);
}

// ---------------------------------------------------------------------------------------------
// toy

/**
 * [batch, seq] float mask of the tokens a CLIP text tower sees: everything up to and including
 * the first end-of-text token (causal attention pooled there never looks further). Lets a
 * tower without an attention_mask input ignore EOS padding.
 */
function tokensUpToFirstEos(g: OnnxGraphBuilder, inputIds: string, eosId: number): string {
  const isEos = g.node('Cast', [g.node('Equal', [inputIds, g.int64('eos_id', [], [eosId])])], { to: OnnxDataType.FLOAT });
  const eosBefore = g.node('CumSum', [isEos, g.int64('sequence_axis', [], [1])], { exclusive: 1 });
  return g.node('Cast', [g.node('Equal', [eosBefore, g.scalar(0, 'no_eos_yet')])], { to: OnnxDataType.FLOAT });
}

function buildToyModels(tokenizer: ClipTokenizer, seed: number, signature: ClipTextSignature): { vision: Uint8Array; text: Uint8Array } {
  const rand = seededUniform(seed);
  const dim = EMBED_DIM;
  // Three orthonormal directions span the colour subspace (Gram–Schmidt on random vectors).
  const basis: Float32Array[] = [];
  while (basis.length < 3) {
    const v = randomTensor(rand, dim, 1);
    for (const b of basis) {
      let dot = 0;
      for (let i = 0; i < dim; i++) dot += v[i] * b[i];
      for (let i = 0; i < dim; i++) v[i] -= dot * b[i];
    }
    const norm = Math.hypot(...v);
    for (let i = 0; i < dim; i++) v[i] /= norm;
    basis.push(v);
  }
  const projectOut = (v: Float32Array): Float32Array => {
    for (const b of basis) {
      let dot = 0;
      for (let i = 0; i < dim; i++) dot += v[i] * b[i];
      for (let i = 0; i < dim; i++) v[i] -= dot * b[i];
    }
    return v;
  };

  // Vision: mean normalised colour [B,3] @ basis [3,512].
  const vision = new OnnxGraphBuilder('clip_toy_vision');
  const pixels = vision.input('pixel_values', OnnxDataType.FLOAT, ['batch', 3, CLIP_IMAGE_SIZE, CLIP_IMAGE_SIZE]);
  const mean = vision.node('ReduceMean', [pixels], { axes: [2, 3], keepdims: 0 });
  const visionW = new Float32Array(3 * dim);
  basis.forEach((b, c) => visionW.set(b, c * dim));
  const imageEmbeds = vision.node('MatMul', [mean, vision.float('colour_basis', [3, dim], visionW)]);
  vision.output('image_embeds', imageEmbeds, OnnxDataType.FLOAT, ['batch', dim]);

  // Text: token id → row of a small table; colour words get the image tower's direction for
  // their colour, every other token a vector orthogonal to all colours; masked mean over tokens.
  const otherRows = 251;
  const colourWords = Object.entries(TOY_COLOUR_WORDS);
  const rows = colourWords.length + otherRows;
  const table = new Float32Array(rows * dim);
  const idToRow = new Int32Array(tokenizer.vocabSize);
  for (let id = 0; id < idToRow.length; id++) idToRow[id] = colourWords.length + (id % otherRows);
  colourWords.forEach(([word, rgb], row) => {
    const ids = tokenizer.tokenize(word);
    if (ids.length !== 1) throw new Error(`toy CLIP: colour word "${word}" is ${ids.length} tokens, expected 1`);
    idToRow[ids[0]] = row;
    const n = normalisedColour(rgb);
    // Longer than the other tokens so a single colour word dominates a short caption.
    const scale = 3 / Math.hypot(...n);
    for (let i = 0; i < dim; i++) table[row * dim + i] = scale * (n[0] * basis[0][i] + n[1] * basis[1][i] + n[2] * basis[2][i]);
  });
  for (let r = colourWords.length; r < rows; r++) {
    const v = projectOut(randomTensor(rand, dim, 1));
    const norm = Math.hypot(...v);
    for (let i = 0; i < dim; i++) table[r * dim + i] = v[i] / norm;
  }
  const text = new OnnxGraphBuilder('clip_toy_text');
  const inputIds = text.input('input_ids', OnnxDataType.INT64, ['batch', 'sequence']);
  const keep =
    signature === 'input_ids+attention_mask'
      ? text.node('Cast', [text.input('attention_mask', OnnxDataType.INT64, ['batch', 'sequence'])], { to: OnnxDataType.FLOAT })
      : tokensUpToFirstEos(text, inputIds, tokenizer.eosId);
  const rowIds = text.node('Gather', [text.int32('token_to_row', [idToRow.length], idToRow), inputIds], { axis: 0 });
  const emb = text.node('Gather', [text.float('token_table', [rows, dim], table), rowIds], { axis: 0 });
  const maskF = text.node('Unsqueeze', [keep, text.ints([2])]);
  const summed = text.node('ReduceSum', [text.node('Mul', [emb, maskF]), text.ints([1])], { keepdims: 0 });
  const count = text.node('ReduceSum', [maskF, text.ints([1])], { keepdims: 0 });
  const textEmbeds = text.node('Div', [summed, count]);
  text.output('text_embeds', textEmbeds, OnnxDataType.FLOAT, ['batch', dim]);

  const doc = 'adseed toy CLIP: colour-only stand-in for tests; not a real model.';
  return {
    vision: vision.toBytes({ opset: OPSET, producer: 'adseed make-clip-models', docString: doc }),
    text: text.toBytes({ opset: OPSET, producer: 'adseed make-clip-models', docString: doc }),
  };
}

// ---------------------------------------------------------------------------------------------
// ViT-B/32 with random weights

interface TransformerSpec {
  readonly width: number;
  readonly heads: number;
  readonly mlp: number;
  readonly layers: number;
}

class RandomWeights {
  constructor(
    private readonly rand: () => number,
    /** Emit int8 dynamically quantised matmuls instead of fp32 ones. */
    readonly quantized = false,
  ) {}
  normal(count: number, std = 0.02): Float32Array {
    return randomTensor(this.rand, count, std);
  }
  ones(count: number): Float32Array {
    return new Float32Array(count).fill(1);
  }
  zeros(count: number): Float32Array {
    return new Float32Array(count);
  }
}

function layerNorm(g: OnnxGraphBuilder, w: RandomWeights, x: string, width: number, name: string): string {
  const scale = g.float(`${name}.weight`, [width], w.ones(width));
  const bias = g.float(`${name}.bias`, [width], w.zeros(width));
  return g.node('LayerNormalization', [x, scale, bias], { axis: -1, epsilon: { f: 1e-5 } });
}

function linear(g: OnnxGraphBuilder, w: RandomWeights, x: string, inDim: number, outDim: number, name: string, bias = true): string {
  const weight = w.normal(inDim * outDim);
  const y = w.quantized ? quantizedMatMul(g, x, weight, inDim, outDim, name) : g.node('MatMul', [x, g.float(`${name}.weight`, [inDim, outDim], weight)]);
  return bias ? g.node('Add', [y, g.float(`${name}.bias`, [outDim], w.zeros(outDim))]) : y;
}

/**
 * x @ W with W stored as symmetric per-tensor int8 and x quantised to uint8 at run time: the
 * pattern onnxruntime's quantize_dynamic writes, which its optimiser fuses into one kernel.
 */
function quantizedMatMul(g: OnnxGraphBuilder, x: string, weight: Float32Array, inDim: number, outDim: number, name: string): string {
  let maxAbs = 0;
  for (const v of weight) maxAbs = Math.max(maxAbs, Math.abs(v));
  const scale = maxAbs > 0 ? maxAbs / 127 : 1;
  const q = Int8Array.from(weight, (v) => Math.max(-127, Math.min(127, Math.round(v / scale))));
  const [xq, xScale, xZero] = g.nodeN('DynamicQuantizeLinear', [x], {}, 3);
  const wq = g.int8(`${name}.weight_quantized`, [inDim, outDim], q);
  const wZero = g.int8(`${name}.weight_zero_point`, [], Int8Array.of(0));
  const acc = g.node('MatMulInteger', [xq, wq, xZero, wZero]);
  const scaleBoth = g.node('Mul', [xScale, g.scalar(scale, `${name}.weight_scale`)]);
  return g.node('Mul', [g.node('Cast', [acc], { to: OnnxDataType.FLOAT }), scaleBoth]);
}

/** One pre-LN CLIP block: x + attn(ln1(x)), then + mlp(ln2(x)) with quick-GELU. */
function transformerBlock(g: OnnxGraphBuilder, w: RandomWeights, x: string, spec: TransformerSpec, name: string, attnMask?: string): string {
  const { width, heads, mlp } = spec;
  const headDim = width / heads;
  const h = layerNorm(g, w, x, width, `${name}.ln_1`);
  const qkv = linear(g, w, h, width, 3 * width, `${name}.attn.in_proj`);
  const split = g.node('Transpose', [g.node('Reshape', [qkv, g.ints([0, 0, 3, heads, headDim])])], { perm: [2, 0, 3, 1, 4] });
  const [q, k, v] = [0, 1, 2].map((i) => g.node('Gather', [split, g.int64(`${name}.attn.pick${i}`, [], [i])], { axis: 0 }));
  const kT = g.node('Transpose', [k], { perm: [0, 1, 3, 2] });
  let scores = g.node('Mul', [g.node('MatMul', [q, kT]), g.scalar(1 / Math.sqrt(headDim), 'attn_scale')]);
  if (attnMask) scores = g.node('Add', [scores, attnMask]);
  const attended = g.node('MatMul', [g.node('Softmax', [scores], { axis: -1 }), v]);
  const merged = g.node('Reshape', [g.node('Transpose', [attended], { perm: [0, 2, 1, 3] }), g.ints([0, 0, width])]);
  const x1 = g.node('Add', [x, linear(g, w, merged, width, width, `${name}.attn.out_proj`)]);
  const h2 = layerNorm(g, w, x1, width, `${name}.ln_2`);
  const fc = linear(g, w, h2, width, mlp, `${name}.mlp.c_fc`);
  const gelu = g.node('Mul', [fc, g.node('Sigmoid', [g.node('Mul', [fc, g.scalar(1.702, 'quick_gelu')])])]);
  return g.node('Add', [x1, linear(g, w, gelu, mlp, width, `${name}.mlp.c_proj`)]);
}

function buildVitB32Vision(seed: number, quantized: boolean): Uint8Array {
  const w = new RandomWeights(seededUniform(seed), quantized);
  const spec: TransformerSpec = { width: 768, heads: 12, mlp: 3072, layers: 12 };
  const patch = 32;
  const grid = CLIP_IMAGE_SIZE / patch;
  const tokens = grid * grid + 1;
  const g = new OnnxGraphBuilder('clip_vit_b32_vision_random');
  const pixels = g.input('pixel_values', OnnxDataType.FLOAT, ['batch', 3, CLIP_IMAGE_SIZE, CLIP_IMAGE_SIZE]);
  const conv = g.node('Conv', [pixels, g.float('conv1.weight', [spec.width, 3, patch, patch], w.normal(spec.width * 3 * patch * patch))], {
    kernel_shape: [patch, patch],
    strides: [patch, patch],
  });
  const patches = g.node('Transpose', [g.node('Reshape', [conv, g.ints([0, spec.width, -1])])], { perm: [0, 2, 1] });
  const batch = g.node('Slice', [g.node('Shape', [patches]), g.ints([0]), g.ints([1])]);
  const clsShape = g.node('Concat', [batch, g.ints([1, spec.width])], { axis: 0 });
  const cls = g.node('Expand', [g.float('class_embedding', [1, 1, spec.width], w.normal(spec.width)), clsShape]);
  let x = g.node('Concat', [cls, patches], { axis: 1 });
  x = g.node('Add', [x, g.float('positional_embedding', [1, tokens, spec.width], w.normal(tokens * spec.width))]);
  x = layerNorm(g, w, x, spec.width, 'ln_pre');
  for (let i = 0; i < spec.layers; i++) x = transformerBlock(g, w, x, spec, `vision.layers.${i}`);
  const pooled = layerNorm(g, w, g.node('Gather', [x, g.int64('class_position', [], [0])], { axis: 1 }), spec.width, 'ln_post');
  const embeds = linear(g, w, pooled, spec.width, EMBED_DIM, 'visual_projection', false);
  g.output('image_embeds', embeds, OnnxDataType.FLOAT, ['batch', EMBED_DIM]);
  return g.toBytes({ opset: OPSET, producer: 'adseed make-clip-models', docString: 'ViT-B/32 vision tower, random weights (benchmarking only)' });
}

function buildVitB32Text(seed: number, vocabSize: number, quantized: boolean, signature: ClipTextSignature): Uint8Array {
  const w = new RandomWeights(seededUniform(seed + 1), quantized);
  const spec: TransformerSpec = { width: 512, heads: 8, mlp: 2048, layers: 12 };
  const g = new OnnxGraphBuilder('clip_vit_b32_text_random');
  const inputIds = g.input('input_ids', OnnxDataType.INT64, ['batch', 'sequence']);
  const attention = signature === 'input_ids+attention_mask' ? g.input('attention_mask', OnnxDataType.INT64, ['batch', 'sequence']) : undefined;
  const tok = g.node('Gather', [g.float('token_embedding', [vocabSize, spec.width], w.normal(vocabSize * spec.width)), inputIds], { axis: 0 });
  const seqLen = g.node('Slice', [g.node('Shape', [inputIds]), g.ints([1]), g.ints([2])]);
  const pos = g.node('Slice', [
    g.float('positional_embedding', [CLIP_MAX_TOKENS, spec.width], w.normal(CLIP_MAX_TOKENS * spec.width, 0.01)),
    g.ints([0]),
    seqLen,
    g.ints([0]),
  ]);
  let x = g.node('Add', [tok, pos]);

  // Additive mask [S,S] causal (no looking ahead), plus [B,1,1,S] padding keys when the tower
  // takes an attention_mask. Pooling at the first EOS sees no padding either way.
  const causalFull = new Float32Array(CLIP_MAX_TOKENS * CLIP_MAX_TOKENS);
  for (let i = 0; i < CLIP_MAX_TOKENS; i++) for (let j = i + 1; j < CLIP_MAX_TOKENS; j++) causalFull[i * CLIP_MAX_TOKENS + j] = -1e9;
  const square = g.node('Concat', [seqLen, seqLen], { axis: 0 });
  const causal = g.node('Slice', [g.float('causal_mask', [CLIP_MAX_TOKENS, CLIP_MAX_TOKENS], causalFull), g.ints([0, 0]), square, g.ints([0, 1])]);
  let mask = causal;
  if (attention) {
    const keep = g.node('Cast', [attention], { to: OnnxDataType.FLOAT });
    const padding = g.node('Mul', [g.node('Sub', [g.scalar(1, 'one'), keep]), g.scalar(-1e9, 'masked')]);
    mask = g.node('Add', [causal, g.node('Unsqueeze', [padding, g.ints([1, 2])])]);
  }

  for (let i = 0; i < spec.layers; i++) x = transformerBlock(g, w, x, spec, `text.layers.${i}`, mask);
  x = layerNorm(g, w, x, spec.width, 'ln_final');
  // Pool at the EOS token: it has the largest id, so argmax finds it (as CLIP does). ArgMax on
  // int32 because not every runtime has an int64 kernel.
  const eosAt = g.node('ArgMax', [g.node('Cast', [inputIds], { to: OnnxDataType.INT32 })], { axis: 1, keepdims: 1 });
  const pooled = g.node('GatherND', [x, eosAt], { batch_dims: 1 });
  const embeds = linear(g, w, pooled, spec.width, EMBED_DIM, 'text_projection', false);
  g.output('text_embeds', embeds, OnnxDataType.FLOAT, ['batch', EMBED_DIM]);
  return g.toBytes({ opset: OPSET, producer: 'adseed make-clip-models', docString: 'CLIP ViT-B/32 text tower, random weights (benchmarking only)' });
}

// ---------------------------------------------------------------------------------------------

function modelCard(kind: ClipModelKind, modelId: string, seed: number, quantized: boolean, signature: ClipTextSignature): string {
  const withMask = signature === 'input_ids+attention_mask';
  const common =
    `Generated by \`services/embedding/tools/dist/make-clip-models.js --kind ${kind}${quantized ? ' --quantized' : ''}${withMask ? ' --with-attention-mask' : ''}\` (seed ${seed}).\n` +
    'Layout matches `Xenova/clip-vit-base-patch32`: `pixel_values` float32 [batch,3,224,224] → `image_embeds` [batch,512];\n' +
    (withMask
      ? '`input_ids` + `attention_mask` int64 [batch,seq≤77] → `text_embeds` [batch,512] (not L2-normalised; the real export has no attention_mask).\n'
      : '`input_ids` int64 [batch,seq≤77] → `text_embeds` [batch,512] (not L2-normalised; no attention_mask, like the real export).\n') +
    'tokenizer.json and the configs are copies of the real CLIP ViT-B/32 ones (config `_name_or_path` rewritten).\n';
  if (kind === 'toy') {
    return (
      `# ${modelId} — toy CLIP stand-in (NOT a real model)\n\n${common}\n` +
      'Image tower: mean of the normalised image per channel, projected onto three orthonormal 512-d directions.\n' +
      'Text tower: mean of the token vectors up to the first end-of-text token (or under attention_mask); the colour words ' +
      Object.keys(TOY_COLOUR_WORDS).join(', ') +
      ' point where an image of that colour points, every other token is orthogonal to all colours.\n' +
      'So "a red image" is closer to red pictures than to blue ones, and nothing else is meaningful. For tests only.\n'
    );
  }
  return (
    `# ${modelId} — CLIP ViT-B/32 architecture with RANDOM weights (NOT a real model)\n\n${common}\n` +
    'Vision: 32×32 patch conv → 768, class token + positions, pre-LN, 12 blocks (12 heads, MLP 3072, quick-GELU), post-LN, projection 512.\n' +
    'Text: token + position embeddings, 12 causal blocks (width 512, 8 heads, MLP 2048), final LN, EOS pooling, projection 512.\n' +
    (quantized ? 'int8 dynamically quantised matmuls (DynamicQuantizeLinear + MatMulInteger, like the published q8 export), fp32 elsewhere' : 'fp32') +
    ', seeded random weights: the compute matches the real model, the embeddings are noise. For benchmarks only.\n'
  );
}

/** Writes a stand-in CLIP model directory; see {@link ClipModelKind}. */
export async function generateClipModels(opts: GenerateClipModelsOptions): Promise<GeneratedClipModels> {
  const seed = opts.seed ?? 20240611;
  const tokenizerJson = join(opts.tokenizerDir, 'tokenizer.json');
  if (!existsSync(tokenizerJson)) {
    throw new Error(`make-clip-models: ${tokenizerJson} not found; pass the clip-vit-base-patch32 folder as tokenizerDir`);
  }
  const tokenizer = ClipTokenizer.fromFile(tokenizerJson);
  const modelId = opts.kind === 'toy' ? TOY_MODEL_ID : RANDOM_VIT_B32_MODEL_ID;
  const onnxDir = join(opts.outDir, 'onnx');
  await mkdir(onnxDir, { recursive: true });
  if (opts.quantized && opts.kind !== 'vit-b32') throw new Error('make-clip-models: quantized applies to vit-b32 only');
  const suffix = opts.quantized ? '_quantized' : '';
  const visionPath = join(onnxDir, `vision_model${suffix}.onnx`);
  const textPath = join(onnxDir, `text_model${suffix}.onnx`);

  const signature = opts.textInputs ?? 'input_ids';
  if (!CLIP_TEXT_SIGNATURES.includes(signature))
    throw new Error(`make-clip-models: textInputs must be one of ${CLIP_TEXT_SIGNATURES.join(', ')}, got ${String(signature)}`);
  if (opts.kind === 'toy') {
    const { vision, text } = buildToyModels(tokenizer, seed, signature);
    await writeFile(visionPath, vision);
    await writeFile(textPath, text);
  } else {
    // One tower at a time keeps peak memory near one model's size.
    await writeFile(visionPath, buildVitB32Vision(seed, opts.quantized ?? false));
    await writeFile(textPath, buildVitB32Text(seed, tokenizer.vocabSize, opts.quantized ?? false, signature));
  }

  // Copied by content, not with copyFile: the sources are read-only and their mode would follow.
  await writeFile(join(opts.outDir, 'tokenizer.json'), await readFile(tokenizerJson));
  for (const file of CONFIG_FILES) {
    const src = join(opts.tokenizerDir, file);
    if (!existsSync(src)) continue;
    if (file === 'config.json') {
      const config = JSON.parse(await readFile(src, 'utf8')) as Record<string, unknown>;
      config._name_or_path = modelId;
      await writeFile(join(opts.outDir, file), JSON.stringify(config, null, 2) + '\n');
    } else {
      await writeFile(join(opts.outDir, file), await readFile(src));
    }
  }
  await writeFile(join(opts.outDir, 'MODEL_CARD.md'), modelCard(opts.kind, modelId, seed, opts.quantized ?? false, signature));
  return { modelId, visionPath, textPath };
}
