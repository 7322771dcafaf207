/**
 * Product fidelity on real photos: the demo pack composed by the local compositor onto 10 demo
 * pet photos, intact and spoiled three ways; score range per case and time per ad, with the
 * placement given and searched for. `node services/generation/bench/dist/product-fidelity.bench.js [photo dir]`
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LocalAdGenerator, renderDemoBrandPack } from '@adseed/generation';
import { DistortingAdGenerator, type Distortion } from '@adseed/generation/dist/fidelity/distorting.generator';
import { productFidelity } from '@adseed/generation/dist/fidelity/product-fidelity';

async function main(): Promise<void> {
  const dir = resolve(process.argv[2] ?? join(__dirname, '..', '..', '..', '..', '..', 'shared', 'datasets'));
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.jpe?g$/i.test(f)) files.push(p);
    }
  };
  walk(dir);
  const picks = files.filter((_, i) => i % Math.max(1, Math.floor(files.length / 10)) === 0).slice(0, 10);
  const brand = await renderDemoBrandPack();
  const cases: Array<'intact' | Distortion> = ['intact', 'blur', 'recolour', 'warp'];
  const scores = new Map(cases.map((c) => [c, { placement: [] as number[], search: [] as number[] }]));
  const times = { placement: [] as number[], search: [] as number[] };
  for (const file of picks) {
    const seed = readFileSync(file);
    for (const c of cases) {
      const generator = c === 'intact' ? new LocalAdGenerator() : new DistortingAdGenerator(new LocalAdGenerator(), c);
      const ad = await generator.generate({ seed, brand });
      let t = performance.now();
      scores.get(c)!.placement.push((await productFidelity(ad.png, brand, ad.placement)).score);
      times.placement.push(performance.now() - t);
      t = performance.now();
      scores.get(c)!.search.push((await productFidelity(ad.png, brand)).score);
      times.search.push(performance.now() - t);
    }
  }
  const range = (a: number[]) => `${Math.min(...a).toFixed(3)}–${Math.max(...a).toFixed(3)}`;
  const p50 = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)].toFixed(0);
  console.log(`${picks.length} photos from ${dir}`);
  for (const [c, s] of scores) console.log(`${c.padEnd(8)} placement ${range(s.placement)}  search ${range(s.search)}`);
  console.log(`time per ad p50: placement ${p50(times.placement)} ms, search ${p50(times.search)} ms`);
}

void main();
