import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalAdGenerator, type AdGenerator, type AdRequest, type GeneratedAd } from '@adseed/generation';
import sharp from 'sharp';
import { REPO_ROOT } from '../adseed.app';

/**
 * Grey plus an adversarial pattern that nsfwjs's MobileNetV2 scores as "porn" (made by
 * libs/guardrails/tools/make-flagged-fixture.ts). It depicts nothing.
 */
export const FLAGGED_FIXTURE = readFileSync(join(REPO_ROOT, 'libs', 'guardrails', 'fixtures', 'adversarial-porn-224.png'));

/** The trigger colour: a seed whose top-left corner is this magenta makes a flagged ad. */
export const TRIGGER_RGB = { r: 255, g: 0, b: 255 } as const;

/**
 * A test generator behind the product's `AdGenerator` port, standing in for a model that
 * returns something unsafe: it composes every ad with the local generator and, for seeds whose
 * top-left corner is magenta, returns the flagged fixture (scaled to the ad's size) instead. It
 * is wired only into the end-to-end tests (`startAdseed({ generator })`), never into the product.
 */
export class FlaggedAdGenerator implements AdGenerator {
  readonly name = 'local';
  private readonly inner = new LocalAdGenerator();

  async generate(request: AdRequest): Promise<GeneratedAd> {
    const ad = await this.inner.generate(request);
    if (!(await hasTrigger(request.seed))) return ad;
    const png = await sharp(FLAGGED_FIXTURE).resize(ad.width, ad.height, { fit: 'fill' }).png().toBuffer();
    return { ...ad, png };
  }
}

async function hasTrigger(seed: Buffer): Promise<boolean> {
  const { data } = await sharp(seed).extract({ left: 0, top: 0, width: 16, height: 16 }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  let r = 0;
  let g = 0;
  let b = 0;
  for (let i = 0; i < data.length; i += 3) [r, g, b] = [r + data[i], g + data[i + 1], b + data[i + 2]];
  const n = data.length / 3;
  return Math.abs(r / n - TRIGGER_RGB.r) < 24 && Math.abs(g / n - TRIGGER_RGB.g) < 24 && Math.abs(b / n - TRIGGER_RGB.b) < 24;
}

/** A seed photo that triggers the flagged ad: magenta, with a few shapes so the compositor has something to crop. */
export async function triggerSeed(width = 900, height = 700): Promise<Buffer> {
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="${width}" height="${height}" fill="rgb(${TRIGGER_RGB.r},${TRIGGER_RGB.g},${TRIGGER_RGB.b})"/>` +
    `<ellipse cx="${width / 2}" cy="${height / 2}" rx="${width / 5}" ry="${height / 4}" fill="rgb(250,160,200)"/><circle cx="${width / 2 - 40}" cy="${height / 2 - 30}" r="14" fill="#111"/></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}
