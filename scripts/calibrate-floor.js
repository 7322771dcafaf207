#!/usr/bin/env node
// `npm run calibrate`: how the relevance floors were chosen. Embeds labelled (text, photo) pairs
// with the caption encoder (all-MiniLM-L6-v2, the real model) and prints, for matching and
// non-matching pairs, the cosine distributions and the floor that best separates them:
//   - seed floor (ADSEED_FLOOR_CAPTION): subject name vs a photo's caption text, on the demo
//     library (258 photos, 37 labels) and on the product library the tests use (43 photos, 14 subjects);
//   - segment floor (ADSEED_SEGMENT_FLOOR): segment vs the names of the subjects that fit it;
//   - merge cosine (ADSEED_SUBJECT_MERGE_COSINE): near-duplicate subject names vs distinct ones.
// The CLIP floor cannot be calibrated here: the ViT-B/32 weights are not reachable (README).
const { readFileSync, existsSync } = require('node:fs');
const { join, resolve } = require('node:path');

const repo = resolve(__dirname, '..');
const { MiniLmCaptionEncoder } = require(join(repo, 'services/embedding/dist/encoders/caption/minilm-caption.encoder'));
const { captionTextFor } = require(join(repo, 'services/embedding/dist/caption-text'));
const { ensureCaptionModel } = require(join(repo, 'services/embedding/dist'));
const { parseManifest, DEFAULT_DEMO_LIBRARY } = require(join(repo, 'services/standalone/dist'));
const { PRODUCT_LIBRARY, SEGMENTS, ABSENT_SUBJECTS } = require(join(repo, 'services/standalone/dist/e2e/product-library'));

const dot = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

/** The threshold with the best F1 (a pair is "relevant" when its cosine >= threshold). */
function separate(name, matching, other) {
  let best = { f1: -1 };
  for (let t = 0; t <= 1; t += 0.01) {
    const tp = matching.filter((s) => s >= t).length;
    const fp = other.filter((s) => s >= t).length;
    const precision = tp + fp ? tp / (tp + fp) : 1;
    const recall = tp / matching.length;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    if (f1 > best.f1) best = { t, f1, precision, recall };
  }
  const d = (xs) => `p5 ${pct(xs, 5).toFixed(2)}  p50 ${pct(xs, 50).toFixed(2)}  p95 ${pct(xs, 95).toFixed(2)}`;
  console.log(`\n${name}`);
  console.log(`  matching     (${String(matching.length).padStart(5)} pairs): ${d(matching)}`);
  console.log(`  non-matching (${String(other.length).padStart(5)} pairs): ${d(other)}`);
  console.log(`  best F1 at ${best.t.toFixed(2)}: F1 ${best.f1.toFixed(3)}, precision ${best.precision.toFixed(3)}, recall ${best.recall.toFixed(3)}`);
  return best;
}

function at(threshold, matching, other) {
  const tp = matching.filter((s) => s >= threshold).length;
  const fp = other.filter((s) => s >= threshold).length;
  return `at ${threshold}: precision ${(tp / Math.max(1, tp + fp)).toFixed(3)}, recall ${(tp / matching.length).toFixed(3)}`;
}

async function main() {
  const modelDir = await ensureCaptionModel(join(repo, '.cache'));
  const encoder = await MiniLmCaptionEncoder.load({ modelDir, batchSize: 32 });
  const embed = async (texts) => (await encoder.embedTexts(texts)).map((v) => Array.from(v));

  // photos: (labels, caption text as the embedding service builds it)
  const photos = PRODUCT_LIBRARY.map((p) => ({ labels: [p.tags[0]], text: captionTextFor({ caption: p.caption, tags: p.tags, path: `seeds/t/${p.file}` }) }));
  if (existsSync(join(DEFAULT_DEMO_LIBRARY, 'manifest.csv'))) {
    for (const row of parseManifest(readFileSync(join(DEFAULT_DEMO_LIBRARY, 'manifest.csv'), 'utf8'))) {
      photos.push({
        labels: [row.tags[0].toLowerCase().replace(/_/g, ' ')],
        text: captionTextFor({ caption: row.caption, tags: row.tags, path: `seeds/demo/${row.file}` }),
      });
    }
  }
  const subjects = [...new Set(photos.map((p) => p.labels[0]))];
  const [subjectVectors, photoVectors] = [await embed(subjects), await embed(photos.map((p) => p.text))];
  const matching = [];
  const other = [];
  subjects.forEach((s, i) => photos.forEach((p, j) => (p.labels.includes(s) ? matching : other).push(dot(subjectVectors[i], photoVectors[j]))));
  const seed = separate(`seed floor: subject name vs caption text (${subjects.length} subjects, ${photos.length} photos)`, matching, other);
  for (const t of [0.4, 0.45, 0.5, 0.55, 0.6, 0.65]) console.log(`  ${at(t, matching, other)}`);
  console.log(`  chosen default ADSEED_FLOOR_CAPTION=0.55 → ${at(0.55, matching, other)}`);
  const absent = await embed(ABSENT_SUBJECTS);
  ABSENT_SUBJECTS.forEach((s, i) => {
    const product = PRODUCT_LIBRARY.map((_, j) => dot(absent[i], photoVectors[j]));
    console.log(`  best cosine of a subject the product library lacks, "${s}": ${Math.max(...product).toFixed(2)}`);
  });

  const productSubjects = [...new Set(PRODUCT_LIBRARY.flatMap((p) => p.tags))];
  const segmentVectors = await embed(SEGMENTS.map((s) => s.segment));
  const productVectors = await embed(productSubjects);
  const segMatch = [];
  const segOther = [];
  SEGMENTS.forEach((s, i) =>
    productSubjects.forEach((name, j) => (s.fits.includes(name) ? segMatch : segOther).push(dot(segmentVectors[i], productVectors[j]))),
  );
  separate(`segment floor: segment vs subject name (${SEGMENTS.length} segments, ${productSubjects.length} subjects)`, segMatch, segOther);
  console.log(`  chosen default ADSEED_SEGMENT_FLOOR=0.3 → ${at(0.3, segMatch, segOther)} (the proposer also counts retrieval evidence)`);

  const duplicates = [
    ['red running shoes', 'running shoe'],
    ['camping tent', 'tent'],
    ['coffee mugs', 'coffee mug'],
    ['espresso maker', 'espresso machine'],
    ['road bicycle', 'road bike'],
    ['electric vehicle', 'electric car'],
    ['yoga mats', 'yoga mat'],
    ['pram', 'baby stroller'],
    ['english cocker spaniel', 'cocker spaniel'],
    ['pizza slice', 'pizza'],
    ['beach hotel', 'beach resort'],
    ['trail running shoes', 'running shoes'],
  ];
  const distinct = [];
  const names = [
    ...productSubjects,
    'beagle',
    'basset hound',
    'golden retriever',
    'labrador retriever',
    'persian',
    'siamese',
    'english setter',
    'english cocker spaniel',
  ];
  for (let i = 0; i < names.length; i++) for (let j = i + 1; j < names.length; j++) distinct.push([names[i], names[j]]);
  const pairCos = async (pairs) => {
    const a = await embed(pairs.map((p) => p[0]));
    const b = await embed(pairs.map((p) => p[1]));
    return pairs.map((_, i) => dot(a[i], b[i]));
  };
  const dupCos = await pairCos(duplicates);
  const distinctCos = await pairCos(distinct);
  separate(`merge cosine: near-duplicate names (${duplicates.length}) vs distinct subjects (${distinct.length} pairs)`, dupCos, distinctCos);
  console.log(`  chosen default ADSEED_SUBJECT_MERGE_COSINE=0.74 → ${at(0.74, dupCos, distinctCos)}`);
  const worst = distinct
    .map((p, i) => [distinctCos[i], p.join(' / ')])
    .sort((a, b) => b[0] - a[0])
    .slice(0, 3);
  console.log(`  closest distinct pairs: ${worst.map(([c, p]) => `${p} ${c.toFixed(2)}`).join('; ')}`);
  duplicates.forEach((p, i) => console.log(`  ${p.join(' / ')}: ${dupCos[i].toFixed(2)}`));
  await encoder.close?.();
  return seed;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
