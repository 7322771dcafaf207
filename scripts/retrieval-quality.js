#!/usr/bin/env node
// Retrieval quality on the demo library, measured through the product's own REST search in
// embedded mode with the caption path alone (no CLIP weights): for every breed, the query
// "a photo of a <breed>" and its top 3. Prints recall@3 (relevant hits in the top 3 over 3, each
// breed has 6-7 photos) and hit@3 (at least one relevant in the top 3), per breed and overall.
// Usage: npm run build && node scripts/retrieval-quality.js
const { mkdtempSync, rmSync, readFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { startAdseed, DEFAULT_DEMO_LIBRARY, parseManifest } = require('../services/standalone/dist');
const { ensureCaptionModel } = require('../services/embedding/dist');

async function main() {
  const cache = process.env.ADSEED_CACHE_DIR ?? join(__dirname, '..', '.cache');
  const dataDir = mkdtempSync(join(tmpdir(), 'adseed-quality-'));
  const app = await startAdseed({
    dataDir,
    port: 0,
    seedLibraryDir: DEFAULT_DEMO_LIBRARY,
    clipModelDir: null,
    captionModelDir: await ensureCaptionModel(cache),
    logSink: () => {},
  });
  try {
    const started = Date.now();
    await app.demoLibrary;
    await app.whenIdle();
    console.log(`indexed the demo library in ${((Date.now() - started) / 1000).toFixed(1)} s (caption encoder only)`);
    const rows = parseManifest(readFileSync(join(DEFAULT_DEMO_LIBRARY, 'manifest.csv'), 'utf8'));
    const breeds = [...new Set(rows.map((r) => r.file.split('/')[0]))].sort((a, b) => a.localeCompare(b));
    let recallSum = 0,
      hits = 0;
    const lines = [];
    for (const breed of breeds) {
      const query = `a photo of a ${breed.replace(/_/g, ' ')}`;
      const res = await fetch(`${app.url}/v1/search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: query, k: 3, encoders: ['caption'] }),
      });
      const body = await res.json();
      const relevant = body.hits.filter((h) => h.path.includes(`/oxford-pets/${breed}/`)).length;
      recallSum += relevant / 3;
      if (relevant > 0) hits++;
      lines.push(`${breed.padEnd(28)} ${relevant}/3  ${body.hits.map((h) => h.path.split('/').slice(-2).join('/')).join(', ')}`);
    }
    console.log(lines.join('\n'));
    console.log(
      `\nbreeds: ${breeds.length}  recall@3: ${(recallSum / breeds.length).toFixed(3)}  hit@3: ${(hits / breeds.length).toFixed(3)}  (caption path alone, ${DEFAULT_DEMO_LIBRARY})`,
    );
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
