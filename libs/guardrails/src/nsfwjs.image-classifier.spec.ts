import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import sharp from 'sharp';
import { loadConfig } from '@adseed/config';
import { SAMPLE_PHOTOS_DIR } from '@adseed/testing';
import { GuardrailsEnv } from './guardrails.env';
import { NsfwjsImageGuardrail } from './nsfwjs.image-classifier';

/** Made by tools/make-flagged-fixture.ts: grey plus an adversarial pattern; it depicts nothing. */
const FLAGGED_FIXTURE = join(__dirname, '..', 'fixtures', 'adversarial-porn-224.png');

/** The product's default thresholds (ADSEED_NSFW_THRESHOLDS unset). */
const DEFAULT_THRESHOLDS = loadConfig(GuardrailsEnv, {}).ADSEED_NSFW_THRESHOLDS;

describe(NsfwjsImageGuardrail.name, () => {
  const guardrail = new NsfwjsImageGuardrail({ model: 'MobileNetV2', thresholds: DEFAULT_THRESHOLDS });

  before(() => guardrail.warmUp());

  it('flags the adversarial fixture as porn at the default thresholds (the real bundled model, offline)', async () => {
    const verdict = await guardrail.check(readFileSync(FLAGGED_FIXTURE));
    assert.equal(verdict.flagged, true, JSON.stringify(verdict.scores));
    assert.deepEqual(verdict.reasons, ['porn']);
    assert.ok(verdict.scores.porn >= 0.7);
    assert.equal(verdict.model, 'nsfwjs:MobileNetV2');
  });

  it('does not flag ordinary images; every class is scored and the scores sum to 1', async () => {
    const images = [
      await sharp({ create: { width: 640, height: 360, channels: 4, background: { r: 30, g: 140, b: 60, alpha: 0.5 } } })
        .png()
        .toBuffer(),
      await sharp({ create: { width: 300, height: 500, channels: 3, background: { r: 200, g: 200, b: 255 } } })
        .jpeg()
        .toBuffer(),
    ];
    const pet = join(SAMPLE_PHOTOS_DIR, 'beagle');
    // A real photo too, when the demo library is on this machine.
    if (existsSync(pet))
      images.push(
        readFileSync(
          join(
            pet,
            readdirSync(pet)
              .filter((f) => f.endsWith('.jpg'))
              .sort()[0],
          ),
        ),
      );
    for (const image of images) {
      const verdict = await guardrail.check(image);
      assert.equal(verdict.flagged, false, JSON.stringify(verdict.scores));
      assert.deepEqual(Object.keys(verdict.scores).sort(), ['drawing', 'hentai', 'neutral', 'porn', 'sexy']);
      const sum = Object.values(verdict.scores).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 0.01, `scores sum to ${sum}`);
    }
  });

  it('flags only classes that have a threshold', async () => {
    const lenient = new NsfwjsImageGuardrail({ model: 'MobileNetV2', thresholds: { hentai: 0.99 } });
    const verdict = await lenient.check(readFileSync(FLAGGED_FIXTURE));
    assert.equal(verdict.flagged, false);
    assert.ok(verdict.scores.porn >= 0.7, 'the score is still reported');
  });

  it('rejects thresholds it cannot use', () => {
    assert.throws(() => new NsfwjsImageGuardrail({ model: 'MobileNetV2', thresholds: { porn: 0 } }), /porn:0/);
    assert.throws(() => new NsfwjsImageGuardrail({ model: 'MobileNetV2', thresholds: { ['nude' as 'porn']: 0.5 } }), /nude/);
  });
});
