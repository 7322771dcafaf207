// Smoke: KServe v2 gRPC (our proto/kserve/grpc_predict_v2.proto, @grpc/grpc-js) against the
// local server. Liveness, readiness, metadata, then ModelInfer on both models; the embeddings
// must equal what onnxruntime-node computes locally from the same ONNX files.
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as ort from 'onnxruntime-node';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../../..');
const modelDir = process.env.ADSEED_KSERVE_MODEL_DIR ?? path.join(repo, '.cache/infra/test-model');
const target = `127.0.0.1:${process.env.ADSEED_KSERVE_GRPC_PORT ?? 18001}`;
const DEADLINE_MS = 10_000;
const t0 = performance.now();

const definition = protoLoader.loadSync(path.join(repo, 'proto/kserve/grpc_predict_v2.proto'), {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
});
const { inference } = grpc.loadPackageDefinition(definition);
const client = new inference.GRPCInferenceService(target, grpc.credentials.createInsecure());
const call = (method, request) =>
  new Promise((resolve, reject) => {
    client[method](request, { deadline: Date.now() + DEADLINE_MS }, (err, reply) => (err ? reject(err) : resolve(reply)));
  });

assert.equal((await call('ServerLive', {})).live, true);
assert.equal((await call('ServerReady', {})).ready, true);
for (const name of ['clip_image', 'clip_text']) assert.equal((await call('ModelReady', { name })).ready, true, `${name} not ready`);
const meta = await call('ModelMetadata', { name: 'clip_image' });
assert.deepEqual(
  meta.inputs.map((t) => [t.name, t.datatype]),
  [['pixel_values', 'FP32']],
);

function outputFloats(reply, name) {
  const index = reply.outputs.findIndex((o) => o.name === name);
  assert.ok(index >= 0, `output ${name} missing`);
  const raw = reply.raw_output_contents[index];
  if (raw) return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  return Float32Array.from(reply.outputs[index].contents.fp32_contents);
}
function assertClose(actual, expected, what) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= 1e-4 * (1 + Math.abs(expected[i])), `${what}[${i}]: ${actual[i]} != ${expected[i]}`);
  }
}

// Image: raw_input_contents, batch of 2.
const pixels = Float32Array.from({ length: 2 * 3 * 224 * 224 }, (_, i) => ((i * 7919) % 1000) / 1000);
const imageReply = await call('ModelInfer', {
  model_name: 'clip_image',
  id: 'smoke-image',
  inputs: [{ name: 'pixel_values', datatype: 'FP32', shape: [2, 3, 224, 224] }],
  raw_input_contents: [Buffer.from(pixels.buffer)],
});
assert.equal(imageReply.id, 'smoke-image');
assert.deepEqual(imageReply.outputs[0].shape.map(Number), [2, 512]);
const vision = await ort.InferenceSession.create(path.join(modelDir, 'onnx/vision_model.onnx'));
const localImage = (await vision.run({ pixel_values: new ort.Tensor('float32', pixels, [2, 3, 224, 224]) })).image_embeds.data;
assertClose(outputFloats(imageReply, 'image_embeds'), localImage, 'image_embeds');

// Text: typed contents (int64_contents), batch of 1.
const ids = [49406, 320, 1125, 49407];
// Only the inputs the model declares: the Xenova export has no attention_mask.
const text = await ort.InferenceSession.create(path.join(modelDir, 'onnx/text_model.onnx'));
const withMask = text.inputNames.includes('attention_mask');
const textReply = await call('ModelInfer', {
  model_name: 'clip_text',
  inputs: [
    { name: 'input_ids', datatype: 'INT64', shape: [1, ids.length], contents: { int64_contents: ids.map(String) } },
    ...(withMask ? [{ name: 'attention_mask', datatype: 'INT64', shape: [1, ids.length], contents: { int64_contents: ids.map(() => '1') } }] : []),
  ],
});
const localText = (
  await text.run({
    input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
    ...(withMask ? { attention_mask: new ort.Tensor('int64', BigInt64Array.from(ids.map(() => 1n)), [1, ids.length]) } : {}),
  })
).text_embeds.data;
assertClose(outputFloats(textReply, 'text_embeds'), localText, 'text_embeds');

client.close();
console.log(
  `kserve ok: live/ready/metadata + ModelInfer clip_image [2,3,224,224] and clip_text match local onnxruntime in ${(performance.now() - t0).toFixed(0)} ms`,
);
