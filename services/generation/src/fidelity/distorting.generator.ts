import sharp from 'sharp';
import type { AdGenerator, AdRequest, GeneratedAd } from '../generators/ad-generator.port';

export type Distortion = 'blur' | 'recolour' | 'warp';

/**
 * A generator that spoils the pack, for tests: it lets a real generator compose the ad, then
 * blurs, recolours or squeezes the pack where that generator placed it (the placement is
 * reported on, as a generator that redraws the product would). It exists to show that product
 * fidelity tells an intact pack from a spoiled one; it is never wired into the product.
 */
export class DistortingAdGenerator implements AdGenerator {
  readonly name: string;

  constructor(
    private readonly inner: AdGenerator,
    private readonly distortion: Distortion,
  ) {
    this.name = `${inner.name}+${distortion}`;
  }

  async generate(request: AdRequest): Promise<GeneratedAd> {
    const ad = await this.inner.generate(request);
    if (!ad.placement) throw new Error(`${this.inner.name} does not report where it placed the pack`);
    const region = ad.placement;
    const patch = sharp(ad.png).extract(region);
    const spoiled =
      this.distortion === 'blur'
        ? await patch
            .blur(Math.max(2, region.width / 40))
            .png()
            .toBuffer()
        : this.distortion === 'recolour'
          ? await patch.modulate({ hue: 150, saturation: 1.6 }).png().toBuffer()
          : // squeezed to 70 % of its width, drawn at the left of where it was: shapes no longer line up
            await patch
              .resize(Math.round(region.width * 0.7), region.height, { fit: 'fill' })
              .png()
              .toBuffer();
    const png = await sharp(ad.png)
      .composite([{ input: spoiled, left: region.left, top: region.top }])
      .png()
      .toBuffer();
    return { ...ad, png, generator: this.name };
  }
}
