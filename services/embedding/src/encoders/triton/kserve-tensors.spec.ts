import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { embeddingRows, float32FromLittleEndian, float32ToLittleEndian, int64ToLittleEndian, tokenRowsToTensors } from './kserve-tensors';

describe('kserve-tensors', () => {
  it('writes FP32 and INT64 tensors little-endian, as KServe v2 raw contents require', () => {
    const f = float32ToLittleEndian(Float32Array.from([1, -2.5]));
    assert.equal(f.readFloatLE(0), 1);
    assert.equal(f.readFloatLE(4), -2.5);
    const i = int64ToLittleEndian(BigInt64Array.from([49406n, -1n]));
    assert.equal(i.readBigInt64LE(0), 49406n);
    assert.equal(i.readBigInt64LE(8), -1n);
  });

  it('reads FP32 bytes that sit at an unaligned offset', () => {
    const backing = Buffer.alloc(9);
    backing.writeFloatLE(0.25, 1);
    backing.writeFloatLE(3, 5);
    assert.deepEqual(Array.from(float32FromLittleEndian(backing.subarray(1))), [0.25, 3]);
    assert.throws(() => float32FromLittleEndian(Buffer.alloc(3)), /not a multiple of 4/);
  });

  it('pads token rows to a fixed length with the pad id and masks the padding', () => {
    const { inputIds, attentionMask } = tokenRowsToTensors(
      [
        [1, 5, 2],
        [1, 2],
      ],
      4,
      2,
    );
    assert.deepEqual(Array.from(inputIds), [1n, 5n, 2n, 2n, 1n, 2n, 2n, 2n]);
    assert.deepEqual(Array.from(attentionMask), [1n, 1n, 1n, 0n, 1n, 1n, 0n, 0n]);
    assert.throws(() => tokenRowsToTensors([[1, 2, 3]], 2, 0), /3 tokens, more than 2/);
  });

  it('splits an output into L2-normalised rows, from raw or typed contents', () => {
    const raw = float32ToLittleEndian(Float32Array.from([3, 4, 0, 0]));
    const fromRaw = embeddingRows([{ name: 'e', datatype: 'FP32', shape: [2, 2], raw }], 'e', 2, 2, 'here');
    assert.deepEqual(
      fromRaw.map((r) => Array.from(r)),
      [
        [Math.fround(0.6), Math.fround(0.8)],
        [0, 0],
      ],
      'a zero row stays zero',
    );
    const fromTyped = embeddingRows([{ name: 'e', datatype: 'FP32', shape: [1, 2], fp32: [0, 2] }], 'e', 1, 2, 'here');
    assert.deepEqual(Array.from(fromTyped[0]), [0, 1]);
  });

  it('names what is wrong with an unexpected output', () => {
    assert.throws(
      () => embeddingRows([{ name: 'x', datatype: 'FP32', shape: [1, 2] }], 'e', 1, 2, 'Triton m on h:1'),
      /Triton m on h:1: reply has no output e \(got x\)/,
    );
    assert.throws(() => embeddingRows([{ name: 'e', datatype: 'FP16', shape: [1, 2] }], 'e', 1, 2, 'w'), /output e is FP16\[1,2\], expected FP32\[1,2\]/);
    assert.throws(() => embeddingRows([{ name: 'e', datatype: 'FP32', shape: [1, 2], fp32: [1] }], 'e', 1, 2, 'w'), /carries 1 values, expected 2/);
  });
});
