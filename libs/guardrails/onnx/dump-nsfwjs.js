// Writes nsfwjs's bundled model (a Keras layers model, uint8-quantised weights inside the npm
// package as base64 JS modules) to <out>/model.json + <out>/weights.bin, as tfjs stores a model.
// Run: node libs/guardrails/onnx/dump-nsfwjs.js <out dir> [MobileNetV2]
'use strict';
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const MODULES = { MobileNetV2: 'mobilenet_v2', MobileNetV2Mid: 'mobilenet_v2_mid', InceptionV3: 'inception_v3' };
const [out, name = 'MobileNetV2'] = process.argv.slice(2);
if (!out || !MODULES[name]) throw new Error('usage: dump-nsfwjs.js <out dir> [MobileNetV2|MobileNetV2Mid|InceptionV3]');
const dir = join(require.resolve('nsfwjs'), '..', '..', 'models', MODULES[name]);
const json = require(join(dir, 'model.min.js'));
const shards = json.weightsManifest.flatMap((group) => group.paths.map((path) => Buffer.from(require(join(dir, `${path}.min.js`)), 'base64')));
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'weights.bin'), Buffer.concat(shards));
const manifest = [{ paths: ['weights.bin'], weights: json.weightsManifest.flatMap((group) => group.weights) }];
writeFileSync(join(out, 'model.json'), JSON.stringify({ ...json, weightsManifest: manifest }));
process.stdout.write(`${name}: ${manifest[0].weights.length} tensors, ${shards.reduce((a, s) => a + s.length, 0)} bytes -> ${out}\n`);
