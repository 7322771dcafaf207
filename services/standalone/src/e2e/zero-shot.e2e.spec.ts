import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { startTestApp, type TestApp } from './harness';

type Json = Record<string, any>;

/**
 * Zero-shot subjects: photos with no caption and no tags still get subjects, from the CLIP
 * towers scoring each image against a configured vocabulary. The generated CLIP model is aligned
 * on colour only, so the vocabulary here is colours; with the real weights it is any noun.
 */
describe('zero-shot subjects from a configured vocabulary (generated colour CLIP model)', () => {
  let app: TestApp;
  before(async () => {
    app = await startTestApp({
      seedLibraryDir: null,
      // top 1 and no minimum: each photo gets the label its image scores best against
      env: { ADSEED_ZERO_SHOT_LABELS: 'red,blue,green', ADSEED_ZERO_SHOT_TOP: '1', ADSEED_ZERO_SHOT_MIN_SCORE: '-1' },
    });
    for (const [name, rgb] of [
      ['0f3a9c71d2e4b5a6c7d8e9f0a1b2c3d4.jpg', [220, 30, 30]],
      ['1f3a9c71d2e4b5a6c7d8e9f0a1b2c3d4.jpg', [225, 40, 35]],
      ['2f3a9c71d2e4b5a6c7d8e9f0a1b2c3d4.jpg', [30, 60, 220]],
    ] as const) {
      const form = new FormData();
      form.set(
        'file',
        new Blob([
          new Uint8Array(
            await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
              .jpeg()
              .toBuffer(),
          ),
        ]),
        name,
      );
      assert.equal((await app.api('/v1/assets', { method: 'POST', body: form, tenant: 'colours' })).status, 201);
    }
    await app.whenIdle();
  });
  after(() => app?.stop());

  it('turns the labels the images score best on into subjects, marked zero-shot', async () => {
    const { items } = (await (await app.api('/v1/subjects', { tenant: 'colours' })).json()) as Json;
    const counts = Object.fromEntries(items.map((s: Json) => [s.name, [s.seedCount, s.source]]));
    assert.deepEqual(counts, { red: [2, 'zero-shot'], blue: [1, 'zero-shot'] });
  });
});
