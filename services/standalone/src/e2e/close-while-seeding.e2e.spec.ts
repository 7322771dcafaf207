import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { DEMO_LIBRARY, startTestApp } from './harness';

/** Every file under `dir` (relative paths, sorted). */
async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? e.path, e.name).slice(dir.length + 1))
    .sort();
}

it('closing the app while it stores the demo library stops the seeding: nothing is written after close, the library is not marked complete', async () => {
  const app = await startTestApp({ seedLibraryDir: DEMO_LIBRARY });
  try {
    // close as soon as the first demo photo is stored, while the rest are being stored
    const seeds = join(app.dataDir, 'objects', 'seeds');
    while (!existsSync(seeds) || (await files(seeds)).filter((f) => f.endsWith('.jpg')).length === 0) await new Promise((r) => setTimeout(r, 5));
    await app.close();
    const atClose = await files(join(app.dataDir, 'objects'));
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(await files(join(app.dataDir, 'objects')), atClose, 'files written after close');
    assert.deepEqual(
      atClose.filter((f) => f.includes('.adseed-tmp-')),
      [],
      'no put was cut off half-way',
    );
    assert.ok(atClose.filter((f) => f.endsWith('.jpg')).length < 258, 'the seeding was still running when the app closed');
    assert.equal(existsSync(join(app.dataDir, 'demo-library.complete')), false);
  } finally {
    await rm(app.dataDir, { recursive: true, force: true });
  }
});
