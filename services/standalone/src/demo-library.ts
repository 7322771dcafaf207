import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { AssetTopics, assetIdFor } from '@adseed/contracts';
import type { EventBus } from '@adseed/messaging';
import type { ObjectStore } from '@adseed/storage';
import type { Logger } from '@adseed/telemetry';
import { renderDemoBrandPack } from '@adseed/generation';

export const DEMO_ATTRIBUTION =
  'Images from the Oxford-IIIT Pet Dataset (Parkhi et al., CVPR 2012), VGG, University of Oxford, CC BY-SA 4.0; downscaled and re-encoded.';

export interface ManifestRow {
  file: string;
  caption?: string;
  tags: string[];
}

/**
 * Reads a seed manifest CSV. Columns: `file` (required), then `caption` and `tags` (`;`-separated),
 * or the Oxford-IIIT Pet sample's `breed` and `species`, from which a caption is made.
 */
export function parseManifest(csv: string): ManifestRow[] {
  const lines = csv.split(/\r?\n/).filter((l) => l.trim());
  const header = splitCsvLine(lines[0] ?? '').map((h) => h.trim().toLowerCase());
  const col = (name: string) => header.indexOf(name);
  if (col('file') < 0) throw new Error('the manifest needs a `file` column');
  return lines.slice(1).map((line) => {
    const cells = splitCsvLine(line);
    const get = (name: string) => (col(name) >= 0 ? cells[col(name)]?.trim() || undefined : undefined);
    const breed = get('breed');
    const species = get('species');
    const tags = [...(get('tags')?.split(';').map((t) => t.trim()).filter(Boolean) ?? []), ...(breed ? [breed] : []), ...(species ? [species] : [])];
    const caption = get('caption') ?? (breed ? `${breed.replace(/_/g, ' ')}${species ? `, a ${species}` : ''}` : undefined);
    return { file: get('file')!, ...(caption ? { caption } : {}), tags: [...new Set(tags)] };
  });
}

function splitCsvLine(line: string): string[] {
  const cells: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') (current += '"'), i++;
      else if (ch === '"') quoted = false;
      else current += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') cells.push(current), (current = '');
    else current += ch;
  }
  cells.push(current);
  return cells;
}

export interface DemoLibraryOptions {
  dir: string;
  tenant: string;
  store: ObjectStore;
  bus: EventBus;
  buckets: { seed: string; brand: string };
  logger: Logger;
  /** Where the "library fully indexed" marker lives (the local data directory). */
  markerFile: string;
  /** Resolves once everything published so far is indexed. */
  whenIndexed(): Promise<void>;
}

/**
 * First start: copies the demo photos into the seeds bucket (the "drop files into the store and
 * publish an ingest event" flow) and renders the demo brand pack. Later starts find the objects
 * in place and publish nothing, unless an earlier run stopped before it finished.
 */
export async function seedDemoLibrary(options: DemoLibraryOptions): Promise<{ photos: number; published: number }> {
  const { dir, tenant, store, bus, buckets, logger } = options;
  await store.ensureBucket(buckets.seed);
  await store.ensureBucket(buckets.brand);
  const brandKey = `${tenant}/pawsome-pack.png`;
  if (!(await store.stat(buckets.brand, brandKey))) {
    const caption = 'Pawsome pet food pack (demo brand)';
    await store.put(buckets.brand, brandKey, await renderDemoBrandPack(), { contentType: 'image/png', metadata: { tenant, kind: 'brand', caption } });
    // Indexed like an uploaded brand image, so start-up never finds it stored but unindexed.
    const path = `${buckets.brand}/${brandKey}`;
    const assetId = assetIdFor(path);
    await bus.publish(AssetTopics.ingestRequested, {
      key: assetId,
      value: { assetId, tenant, kind: 'brand', path, caption, tags: [], source: 'demo', requestedAt: new Date().toISOString() },
    });
  }
  const manifestFile = join(dir, 'manifest.csv');
  if (!existsSync(manifestFile)) {
    logger.warn(`no demo seed library at ${dir}: the library starts empty; add photos with \`npx adseed ingest <folder>\` or the web UI's Upload tab`);
    return { photos: 0, published: 0 };
  }
  const rows = parseManifest(await fs.readFile(manifestFile, 'utf8'));
  const complete = existsSync(options.markerFile);
  let published = 0;
  for (const row of rows) {
    const key = `${tenant}/oxford-pets/${row.file}`;
    const existed = Boolean(await store.stat(buckets.seed, key));
    if (!existed) {
      const bytes = await fs.readFile(join(dir, row.file));
      await store.put(buckets.seed, key, bytes, {
        contentType: 'image/jpeg',
        metadata: { tenant, kind: 'seed', ...(row.caption ? { caption: row.caption } : {}), tags: row.tags.join(','), licence: 'CC BY-SA 4.0' },
      });
    }
    if (!existed || !complete) {
      const path = `${buckets.seed}/${key}`;
      const assetId = assetIdFor(path);
      await bus.publish(AssetTopics.ingestRequested, {
        key: assetId,
        value: { assetId, tenant, kind: 'seed', path, ...(row.caption ? { caption: row.caption } : {}), tags: row.tags, source: 'demo', requestedAt: new Date().toISOString() },
      });
      published++;
    }
  }
  logger.info(`demo seed library: ${rows.length} photos, ${published} queued for indexing`, { dir });
  if (!complete) {
    await options.whenIndexed();
    await fs.writeFile(options.markerFile, new Date().toISOString());
    logger.info('demo seed library indexed');
  }
  return { photos: rows.length, published };
}
