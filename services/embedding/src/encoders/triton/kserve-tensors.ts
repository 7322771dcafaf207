import { endianness } from 'node:os';

import type { KserveInferOutput } from './kserve-v2.types';

// KServe v2 raw contents are little-endian; on a little-endian host the typed array's memory
// already is, so it goes out without a copy.
const HOST_IS_LITTLE_ENDIAN = endianness() === 'LE';

/** FP32 tensor → little-endian bytes for `raw_input_contents`. */
export function float32ToLittleEndian(values: Float32Array): Buffer {
  if (HOST_IS_LITTLE_ENDIAN) return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  const out = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => out.writeFloatLE(v, i * 4));
  return out;
}

/** INT64 tensor → little-endian bytes for `raw_input_contents`. */
export function int64ToLittleEndian(values: BigInt64Array): Buffer {
  if (HOST_IS_LITTLE_ENDIAN) return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  const out = Buffer.alloc(values.length * 8);
  values.forEach((v, i) => out.writeBigInt64LE(v, i * 8));
  return out;
}

/** Little-endian FP32 bytes → a Float32Array of its own (the source may be unaligned). */
export function float32FromLittleEndian(bytes: Buffer): Float32Array {
  if (bytes.length % 4 !== 0) throw new Error(`FP32 tensor has ${bytes.length} bytes, not a multiple of 4`);
  const out = new Float32Array(bytes.length / 4);
  if (HOST_IS_LITTLE_ENDIAN) Buffer.from(out.buffer).set(bytes);
  else for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}

/**
 * CLIP token rows → `[rows, seqLen]` input_ids and attention_mask, padded with `padId`.
 * Every row is padded to the same fixed `seqLen` so that Triton's dynamic batcher, which only
 * merges requests of equal shape, can merge requests from different clients.
 */
export function tokenRowsToTensors(
  rows: readonly (readonly number[])[],
  seqLen: number,
  padId: number,
): { inputIds: BigInt64Array; attentionMask: BigInt64Array } {
  const inputIds = new BigInt64Array(rows.length * seqLen).fill(BigInt(padId));
  const attentionMask = new BigInt64Array(rows.length * seqLen);
  rows.forEach((row, r) => {
    if (row.length > seqLen) throw new Error(`token row ${r} has ${row.length} tokens, more than ${seqLen}`);
    row.forEach((id, j) => {
      inputIds[r * seqLen + j] = BigInt(id);
      attentionMask[r * seqLen + j] = 1n;
    });
  });
  return { inputIds, attentionMask };
}

function l2Normalise(row: Float32Array): Float32Array {
  let sum = 0;
  for (const v of row) sum += v * v;
  const norm = Math.sqrt(sum);
  // A zero vector has no direction; leave it zero rather than fill it with NaN.
  if (norm > 0) for (let i = 0; i < row.length; i++) row[i] /= norm;
  return row;
}

/**
 * Reads output `name` of a ModelInfer reply as `rows` L2-normalised vectors of width `dim`,
 * from raw contents or, for servers that answer with typed contents, from `fp32_contents`.
 */
export function embeddingRows(outputs: readonly KserveInferOutput[], name: string, rows: number, dim: number, where: string): Float32Array[] {
  const output = outputs.find((o) => o.name === name);
  if (!output) throw new Error(`${where}: reply has no output ${name} (got ${outputs.map((o) => o.name).join(', ') || 'none'})`);
  const shapeOk = output.shape.length === 2 && output.shape[0] === rows && output.shape[1] === dim;
  if (output.datatype !== 'FP32' || !shapeOk) {
    throw new Error(`${where}: output ${name} is ${output.datatype}[${output.shape.join(',')}], expected FP32[${rows},${dim}]`);
  }
  const data = output.raw ? float32FromLittleEndian(output.raw) : Float32Array.from(output.fp32 ?? []);
  if (data.length !== rows * dim) throw new Error(`${where}: output ${name} carries ${data.length} values, expected ${rows * dim}`);
  return Array.from({ length: rows }, (_, i) => l2Normalise(data.slice(i * dim, (i + 1) * dim)));
}
