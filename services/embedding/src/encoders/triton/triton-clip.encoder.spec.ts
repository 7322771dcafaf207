import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { generateClipModels } from '../clip/clip-model.generator';
import { sharedClipTokenizerDir } from '../clip/shared-clip-dir';
import { float32ToLittleEndian } from './kserve-tensors';
import type { KserveEndpoint, KserveInferRequest, KserveInferResponse, KserveModelMetadata } from './kserve-v2.types';
import { TritonClipEncoder } from './triton-clip.encoder';

const DIM = 512;

const clipMetadata = (versions: string[], textInputs = ['input_ids']): Record<string, KserveModelMetadata> => ({
  clip_image: {
    name: 'clip_image',
    versions,
    platform: 'onnxruntime_onnx',
    inputs: [{ name: 'pixel_values', datatype: 'FP32', shape: [-1, 3, 224, 224] }],
    outputs: [{ name: 'image_embeds', datatype: 'FP32', shape: [-1, DIM] }],
  },
  clip_text: {
    name: 'clip_text',
    versions,
    platform: 'onnxruntime_onnx',
    inputs: textInputs.map((name) => ({ name, datatype: 'INT64', shape: [-1, -1] })),
    outputs: [{ name: 'text_embeds', datatype: 'FP32', shape: [-1, DIM] }],
  },
});

/** A server that answers metadata as told and embeds every row as the same arbitrary vector. */
class FakeServer implements KserveEndpoint {
  readonly requests: KserveInferRequest[] = [];
  constructor(
    readonly address: string,
    private readonly metadata: Record<string, KserveModelMetadata>,
  ) {}

  async serverReady(): Promise<boolean> {
    return true;
  }
  async modelReady(name: string, version: string): Promise<boolean> {
    return Boolean(this.metadata[name]) && (version === '' || this.metadata[name].versions.includes(version));
  }
  async modelMetadata(name: string): Promise<KserveModelMetadata> {
    return this.metadata[name];
  }
  async modelInfer(request: KserveInferRequest): Promise<KserveInferResponse> {
    this.requests.push(request);
    const rows = request.inputs[0].shape[0];
    const data = Float32Array.from({ length: rows * DIM }, (_, i) => (((i % DIM) * 37) % 11) - 5);
    const name = request.modelName === 'clip_image' ? 'image_embeds' : 'text_embeds';
    return {
      modelName: request.modelName,
      modelVersion: request.modelVersion,
      id: request.id,
      outputs: [{ name, datatype: 'FP32', shape: [rows, DIM], raw: float32ToLittleEndian(data) }],
    };
  }
  close(): void {}
}

describe(TritonClipEncoder.name, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'adseed-triton-unit-'));
    await generateClipModels({ kind: 'toy', outDir: join(dir, 'toy'), tokenizerDir: sharedClipTokenizerDir() });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('pins the newest ready version, reports it, and sends 77-token texts little-endian', async () => {
    const server = new FakeServer('fake:1', clipMetadata(['1', '3', '2'], ['input_ids', 'attention_mask']));
    const encoder = await TritonClipEncoder.load({ endpoints: ['fake:1'], modelDir: sharedClipTokenizerDir(), timeoutMs: 100, connect: () => server });
    try {
      assert.deepEqual(encoder.info, { modelId: 'clip_image+clip_text', modelVersion: '3+3', dim: DIM });
      const [vector] = await encoder.embedTexts(['a red image']);
      assert.ok(Math.abs(Math.hypot(...vector) - 1) < 1e-6, 'L2-normalised');
      const [request] = server.requests;
      assert.equal(request.modelVersion, '3');
      assert.deepEqual(
        request.inputs.map((i) => [i.name, i.datatype, i.shape]),
        [
          ['input_ids', 'INT64', [1, 77]],
          ['attention_mask', 'INT64', [1, 77]],
        ],
      );
      assert.equal(request.inputs[0].data.readBigInt64LE(0), 49406n, 'BOS first');
      assert.equal(request.inputs[1].data.readBigInt64LE(8 * 76), 0n, 'padding masked');
    } finally {
      await encoder.close();
    }
    await assert.rejects(encoder.embedTexts(['x']), /used after close\(\)/);
  });

  it('sends only input_ids to a text model that declares only input_ids (the Xenova export)', async () => {
    const server = new FakeServer('fake:1', clipMetadata(['1']));
    const encoder = await TritonClipEncoder.load({ endpoints: ['fake:1'], modelDir: sharedClipTokenizerDir(), timeoutMs: 100, connect: () => server });
    try {
      await encoder.embedTexts(['a red image']);
      assert.deepEqual(
        server.requests[0].inputs.map((i) => [i.name, i.datatype, i.shape]),
        [['input_ids', 'INT64', [1, 77]]],
      );
      assert.equal(server.requests[0].inputs[0].data.readBigInt64LE(8 * 76), 49407n, 'padded with EOS');
    } finally {
      await encoder.close();
    }
  });

  it('refuses a text model without input_ids or with an input it cannot fill, saying what it found', async () => {
    for (const [inputs, found] of [
      [['attention_mask'], 'attention_mask INT64'],
      [['input_ids', 'token_type_ids'], 'token_type_ids INT64'],
    ] as const) {
      await assert.rejects(
        TritonClipEncoder.load({
          endpoints: ['fake:1'],
          modelDir: sharedClipTokenizerDir(),
          timeoutMs: 100,
          connect: (a) => new FakeServer(a, clipMetadata(['1'], [...inputs])),
        }),
        new RegExp(`clip_text: expected input input_ids \\(and optionally attention_mask\\).*found inputs \\[.*${found}`),
      );
    }
  });

  it('refuses models that do not have the CLIP inputs and outputs, saying what it found', async () => {
    const metadata = clipMetadata(['1']);
    metadata.clip_image = { ...metadata.clip_image, inputs: [{ name: 'images', datatype: 'UINT8', shape: [-1, 224, 224, 3] }] };
    await assert.rejects(
      TritonClipEncoder.load({ endpoints: ['fake:1'], modelDir: sharedClipTokenizerDir(), timeoutMs: 100, connect: (a) => new FakeServer(a, metadata) }),
      /served at fake:1 do not look like the CLIP towers: clip_image: expected input pixel_values FP32\[-1,3,224,224\].*found inputs \[images UINT8\[-1,224,224,3\]\]/,
    );
  });

  it('with the fallback, refuses to start when Triton computes other vectors than the local model', async () => {
    await assert.rejects(
      TritonClipEncoder.load({
        endpoints: ['fake:1'],
        modelDir: join(dir, 'toy'),
        timeoutMs: 100,
        fallbackToOnnx: true,
        intraOpThreads: 1,
        connect: (a) => new FakeServer(a, clipMetadata(['1'])),
      }),
      /disagree \(cosine -?\d\.\d{4} on a probe text\).*TRITON_FALLBACK_ONNX=false/,
    );
  });

  it('needs tokenizer.json even though Triton runs the model', async () => {
    await assert.rejects(
      TritonClipEncoder.load({ endpoints: ['fake:1'], modelDir: dir, timeoutMs: 100, connect: (a) => new FakeServer(a, clipMetadata(['1'])) }),
      /tokenizer\.json not found; the CLIP folder must hold the tokenizer/,
    );
  });
});
