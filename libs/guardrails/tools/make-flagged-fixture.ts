/**
 * Makes the image the image-guardrail tests use as "an image the classifier flags": mid-grey
 * plus a targeted adversarial pattern (iterated fast gradient sign, steps of 2/255) that drives
 * nsfwjs's MobileNetV2 to score it "Porn". It depicts nothing; it proves the quarantine path
 * runs on the real classifier at its default thresholds without shipping explicit images.
 * Values stay on the 8-bit grid, so the PNG decodes to exactly the tensor that was optimised.
 *
 * Run (≈10 min: tfjs's pure-JS CPU backend is the only one here with gradient kernels):
 *   node libs/guardrails/tools/dist/make-flagged-fixture.js [out.png] [class]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { loadNsfwModel, NSFW_CLASS_NAMES, type NsfwClass } from '@adseed/guardrails/dist/nsfwjs.image-classifier';

async function main(): Promise<void> {
  const out = process.argv[2] ?? join(__dirname, '..', '..', 'fixtures', 'adversarial-porn-224.png');
  const targetName = (process.argv[3] ?? 'porn') as NsfwClass;
  const target = NSFW_CLASS_NAMES.indexOf(targetName);
  if (target < 0) throw new Error(`class must be one of ${NSFW_CLASS_NAMES.join(', ')}`);
  const model = await loadNsfwModel('MobileNetV2', 'cpu');
  const layers = model.model as tf.LayersModel;
  const size = 224;
  // Integer pixel values / 255 throughout.
  let pixels = tf.fill([1, size, size, 3], 128, 'float32');
  const logProb = (p: tf.Tensor): tf.Scalar =>
    tf.tidy<tf.Scalar>(() => (layers.predict(p.div(255)) as tf.Tensor).slice([0, target], [1, 1]).add(1e-6).log().sum());
  const gradient = tf.grad(logProb);
  for (let step = 0; step < 40; step++) {
    const g = gradient(pixels);
    const next = tf.tidy(() => pixels.add(g.sign().mul(2)).clipByValue(0, 255));
    g.dispose();
    pixels.dispose();
    pixels = next;
    const probs = tf.tidy(() => (layers.predict(pixels.div(255)) as tf.Tensor).dataSync());
    process.stdout.write(`step ${step}: ${NSFW_CLASS_NAMES.map((n, i) => `${n} ${probs[i].toFixed(3)}`).join(', ')}\n`);
    if (probs[target] >= 0.995) break;
  }
  const data = Buffer.from(Uint8Array.from(await pixels.data()));
  writeFileSync(
    out,
    await sharp(data, { raw: { width: size, height: size, channels: 3 } })
      .png({ compressionLevel: 9 })
      .toBuffer(),
  );
  process.stdout.write(`wrote ${out}\n`);
}

void main();
