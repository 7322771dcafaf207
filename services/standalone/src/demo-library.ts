import { existsSync, promises as fs } from 'node:fs';
import { join } from 'node:path';
import { AssetTopics, assetIdFor, rightsToMetadata, Queries, type Rights } from '@adseed/contracts';
import { parseManifest, type ManifestRow } from './manifest';
import type { EventBus } from '@adseed/messaging';
import type { QueryClient } from '@adseed/platform';
import type { ObjectStore } from '@adseed/storage';
import type { Logger } from '@adseed/telemetry';
import { renderDemoBrandPack } from '@adseed/generation';

/** The demo seed library beside the repository (`../shared`), from services/standalone/dist. */
export const DEFAULT_DEMO_LIBRARY = join(__dirname, '..', '..', '..', '..', 'shared', 'datasets', 'oxford-pets-sample');

/** The demo library's subject descriptions (data shipped with the demo, not product code). */
export const DEMO_SUBJECT_EDITS = join(__dirname, '..', 'demo', 'subject-edits.json');

export const DEMO_ATTRIBUTION =
  'Images from the Oxford-IIIT Pet Dataset (Parkhi et al., CVPR 2012), VGG, University of Oxford, CC BY-SA 4.0; downscaled and re-encoded.';

export { parseManifest, type ManifestRow } from './manifest';

/** Demo photos stored (and announced) at once on first start. */
const STORE_CONCURRENCY = 8;

export interface DemoLibraryOptions {
  dir: string;
  tenant: string;
  store: ObjectStore;
  bus: EventBus;
  queries: QueryClient;
  buckets: { seed: string; brand: string };
  logger: Logger;
  /** Where the "library fully indexed" marker lives (the local data directory). */
  markerFile: string;
  /** Resolves once everything published so far is indexed. */
  whenIndexed(): Promise<void>;
  /** Aborted when the app closes: no further photo is taken, and indexing is not waited for. */
  signal?: AbortSignal;
}

/**
 * First start: copies the demo photos into the seeds bucket (the "drop files into the store and
 * publish an ingest event" flow) and renders the demo brand pack. Later starts find the objects
 * in place and publish nothing, unless an earlier run stopped before it finished.
 */
export async function seedDemoLibrary(options: DemoLibraryOptions): Promise<{ photos: number; published: number }> {
  const { dir, tenant, store, bus, queries, buckets, logger } = options;
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
  // the demo's subject descriptions are data, applied like a tenant's own edits
  const edits = JSON.parse(await fs.readFile(DEMO_SUBJECT_EDITS, 'utf8')) as { edits: { name: string; description?: string; audience?: string }[] };
  await queries.call(Queries.catalogue, { type: 'edit-by-name', tenant, edits: edits.edits });
  const complete = existsSync(options.markerFile);
  let published = 0;
  const seed = async (row: ManifestRow): Promise<void> => {
    const rights: Rights = { attribution: DEMO_ATTRIBUTION, ...row.rights };
    const key = `${tenant}/oxford-pets/${row.file}`;
    const existed = Boolean(await store.stat(buckets.seed, key));
    if (!existed) {
      const bytes = await fs.readFile(join(dir, row.file));
      await store.put(buckets.seed, key, bytes, {
        contentType: 'image/jpeg',
        metadata: { tenant, kind: 'seed', ...(row.caption ? { caption: row.caption } : {}), tags: row.tags.join(','), ...rightsToMetadata(rights) },
      });
    }
    if (!existed || !complete) {
      const path = `${buckets.seed}/${key}`;
      const assetId = assetIdFor(path);
      await bus.publish(AssetTopics.ingestRequested, {
        key: assetId,
        value: {
          assetId,
          tenant,
          kind: 'seed',
          path,
          ...(row.caption ? { caption: row.caption } : {}),
          tags: row.tags,
          rights,
          source: 'demo',
          requestedAt: new Date().toISOString(),
        },
      });
      published++;
    }
  };
  // A few photos in flight at once: each put waits for the disk (it is flushed before it returns),
  // and the embedding service batches what arrives while its model runs.
  // (after a failure the others stop taking photos: start-up fails with the first error)
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && !options.signal?.aborted && next < rows.length) {
      await seed(rows[next++]).catch((error: unknown) => {
        failed = true;
        throw error;
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(STORE_CONCURRENCY, rows.length) }, worker));
  logger.info(`demo seed library: ${rows.length} photos, ${published} queued for indexing`, { dir });
  if (!complete) {
    const closing = new Promise<void>((resolve) => options.signal?.addEventListener('abort', () => resolve(), { once: true }));
    await Promise.race([options.whenIndexed(), closing]);
    if (options.signal?.aborted) return { photos: rows.length, published };
    await fs.writeFile(options.markerFile, new Date().toISOString());
    logger.info('demo seed library indexed');
  }
  return { photos: rows.length, published };
}
