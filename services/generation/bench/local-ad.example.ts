/**
 * Renders one example ad (a real pet photo + the demo brand pack) for eyeballing the layout.
 * Run: node services/generation/bench/dist/local-ad.example.js [photo.jpg] [out.png]
 */
import { readFile, writeFile } from 'node:fs/promises';

import { LocalAdGenerator, renderDemoBrandPack } from '@adseed/generation';
import { firstSamplePhoto } from './local-ad.generator.bench';

export const EXAMPLE_AD_PATH = '/tmp/adseed-example-ad.png';

export async function renderExampleAd(photoPath: string, outPath = EXAMPLE_AD_PATH): Promise<void> {
  const [seed, brand] = await Promise.all([readFile(photoPath), renderDemoBrandPack()]);
  const ad = await new LocalAdGenerator().generate({
    seed,
    brand,
    headline: 'Real food for the friend who waits by the door',
    callToAction: 'Try Pawsome today',
  });
  await writeFile(outPath, ad.png);
}

if (require.main === module) {
  void (async () => {
    const photo = process.argv[2] ?? (await firstSamplePhoto());
    if (photo === undefined) {
      console.error('No photo given and no sample photos found; pass a JPEG path as the first argument.');
      process.exitCode = 1;
      return;
    }
    const out = process.argv[3] ?? EXAMPLE_AD_PATH;
    await renderExampleAd(photo, out);
    console.log(`Wrote ${out} from ${photo}`);
  })();
}
