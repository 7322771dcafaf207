import assert from 'node:assert/strict';
import sharp from 'sharp';
import type { TestApp } from './harness';

type Json = Record<string, any>;

/** Fixtures of the creative-job tests: a small seed library with captions, and a brand pack. */
export const SEEDS: Array<[string, string, [number, number, number], [number, number]]> = [
  ['surfboard_beach.jpg', 'an outdoor surfboard on a sunny beach', [200, 120, 60], [900, 600]],
  ['bicycle_park.jpg', 'a mountain bike in a green park', [230, 200, 80], [1200, 800]],
  ['boots_trail.jpg', 'hiking boots on a mountain trail', [120, 80, 40], [800, 1000]],
  ['tent_campfire.jpg', 'a small camping tent for outdoor trips, by a campfire', [210, 180, 150], [400, 300]],
  ['mug_window.jpg', 'a coffee mug on a sunny window sill', [150, 140, 120], [1000, 700]],
  ['teapot_table.jpg', 'a teapot on a kitchen table', [240, 230, 210], [900, 900]],
  ['espresso_machine.jpg', 'an espresso machine in a small kitchen', [180, 60, 90], [1100, 700]],
  ['blanket_sofa.jpg', 'a coffee cup and a wool blanket on a sofa', [90, 90, 140], [700, 900]],
];
/**
 * Audience segments describe people, captions describe photos: against these captions the
 * segments reach a caption cosine of ~0.4, under the calibrated floor (0.55), so jobs for them
 * pass this minScore (as a marketer would after the 404 that names the gap).
 */
export const MIN_SCORE = 0.3;
export const SEGMENTS = ['outdoor adventurers', 'coffee lovers in small apartments'];

/** A scene with texture and one bright "subject", so crops and placements have something to avoid. */
export async function scene([r, g, b]: [number, number, number], [width, height]: [number, number], salt: number): Promise<Buffer> {
  const cx = Math.round(width * (0.3 + (0.4 * ((salt * 37) % 10)) / 10));
  const cy = Math.round(height * (0.35 + (0.3 * ((salt * 53) % 10)) / 10));
  const radius = Math.round(Math.min(width, height) * 0.22);
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="rgb(${r},${g},${b})"/><stop offset="1" stop-color="rgb(${255 - r},${255 - g},${255 - b})"/></linearGradient></defs>` +
    `<rect width="${width}" height="${height}" fill="url(#g)"/>` +
    `<ellipse cx="${cx}" cy="${cy}" rx="${radius}" ry="${Math.round(radius * 0.8)}" fill="rgb(${(r + 128) % 256},${(g + 64) % 256},${(b + 32) % 256})"/>` +
    `<circle cx="${cx - radius / 3}" cy="${cy - radius / 4}" r="${radius / 8}" fill="#111"/><circle cx="${cx + radius / 3}" cy="${cy - radius / 4}" r="${radius / 8}" fill="#111"/>` +
    `</svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 88 }).toBuffer();
}

export async function brandPack(): Promise<Buffer> {
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400"><rect width="400" height="400" fill="#fff"/>` +
    `<rect x="110" y="50" width="180" height="300" rx="14" fill="rgb(20,110,120)"/><rect x="130" y="90" width="140" height="90" fill="#fff"/></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

export async function upload(app: TestApp, bytes: Buffer, name: string, fields: Record<string, string>): Promise<Json> {
  const form = new FormData();
  form.set('file', new Blob([new Uint8Array(bytes)]), name);
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  const res = await app.api('/v1/assets', { method: 'POST', body: form });
  assert.equal(res.status, 201, await res.clone().text());
  return ((await res.json()) as Json).asset;
}

/** Uploads the seed library and a brand pack; returns the brand's path and one seed's. */
export async function library(app: TestApp): Promise<{ brandPath: string; seedPaths: string[] }> {
  const seedPaths: string[] = [];
  for (const [i, [name, caption, rgb, size]] of SEEDS.entries()) seedPaths.push((await upload(app, await scene(rgb, size, i), name, { caption })).path);
  const brand = await upload(app, await brandPack(), 'pack.png', { kind: 'brand' });
  // Licence and attribution as the upload will record them (keys `licence`, `attribution`).
  const [bucket, ...rest] = seedPaths[0].split('/');
  const { body, info } = await app.store.get(bucket, rest.join('/'));
  await app.store.put(bucket, rest.join('/'), body, {
    contentType: info.contentType,
    metadata: { ...info.metadata, licence: 'CC-BY-SA-4.0', attribution: 'Jane Doe' },
  });
  await app.whenIdle();
  return { brandPath: brand.path, seedPaths };
}
