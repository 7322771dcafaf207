/**
 * Catalogue upkeep at scale: the time one index event costs the subject catalogue (apply the
 * asset's phrases, persist in the background) with `assets` already in it, and one merge pass.
 * Run through `npm run bench` (section "catalogue").
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { FsObjectStore } from '@adseed/storage';
import { Logger } from '@adseed/telemetry';
import { SubjectCatalogueService, type EmbedTexts } from '@adseed/agent/dist/subjects/subject-catalogue.service';

export interface CatalogueBench {
  assets: number;
  subjects: number;
  updateP50Ms: number;
  updateP99Ms: number;
  mergePassMs: number;
  listMs: number;
}

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

/** A library of `assets` photos over `subjects` subjects (Zipf-like: a few big subjects, a long tail), two tags and a caption each. */
export async function benchCatalogue(options: { assets: number; subjects: number; embedTexts: EmbedTexts; saveDelayMs?: number }): Promise<CatalogueBench> {
  const dir = mkdtempSync(join(tmpdir(), 'adseed-catalogue-bench-'));
  const service = new SubjectCatalogueService({
    store: new FsObjectStore(dir),
    bucket: 'state',
    embedTexts: options.embedTexts,
    logger: new Logger({ service: 'bench', level: 'error', sink: () => undefined }),
    mergeCosine: 0.74,
    saveDelayMs: options.saveDelayMs ?? 1000,
  });
  const words = ['trail', 'city', 'red', 'blue', 'leather', 'compact', 'family', 'studio', 'outdoor', 'classic', 'modern', 'vintage'];
  const nouns = Array.from({ length: options.subjects }, (_, i) => `${words[i % words.length]} product ${i}`);
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const zipf = () => Math.min(options.subjects - 1, Math.floor(options.subjects ** random()) - 1);
  const event = (i: number) => ({
    assetId: `asset-${i}`,
    path: `seeds/bench/${i}.jpg`,
    caption: `A ${nouns[zipf()]} on a table`,
    tags: [nouns[zipf()], words[i % words.length]],
  });
  try {
    // fill to `assets`, then time a further 2,000 events (new assets and re-captioned ones)
    await service.update('bench', (c) => {
      for (let i = 0; i < options.assets; i++) c.applyIndexed(event(i));
    });
    let t0 = performance.now();
    await service.read('bench');
    const mergePassMs = performance.now() - t0;
    const times: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const e = event(i % 2 === 0 ? options.assets + i : i * 7);
      t0 = performance.now();
      await service.update('bench', (c) => c.applyIndexed(e));
      times.push(performance.now() - t0);
    }
    t0 = performance.now();
    const listed = await service.list('bench', false);
    const listMs = performance.now() - t0;
    await service.flush();
    return { assets: options.assets, subjects: listed.length, updateP50Ms: percentile(times, 50), updateP99Ms: percentile(times, 99), mergePassMs, listMs };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
