import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { runCli } from '../cli';
import { startTestApp, type TestApp } from './harness';
import { brandPack, library, MIN_SCORE, SEGMENTS } from './job-fixtures';

describe('adseed campaign (the CLI, against a running gateway)', { timeout: 300_000 }, () => {
  let app: TestApp;
  let dir: string;

  before(async () => {
    app = await startTestApp();
    await library(app);
    dir = await mkdtemp(join(tmpdir(), 'adseed-campaign-'));
    await writeFile(join(dir, 'segments.txt'), `# one segment a line\n${SEGMENTS.join('\n')}\n\n`);
    await writeFile(join(dir, 'pack.png'), await brandPack());
  });
  after(async () => {
    await app?.whenIdle();
    await app?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const run = () =>
    runCli([
      'campaign',
      '--brand',
      join(dir, 'pack.png'),
      '--segments',
      join(dir, 'segments.txt'),
      '--formats',
      '1:1,9:16',
      '--variants',
      '2',
      '--out',
      join(dir, 'ads'),
      '--url',
      app.url,
      '--min-score',
      String(MIN_SCORE),
    ]);

  it('makes every segment × format × variant and downloads each ad with its provenance record', async () => {
    assert.equal(await run(), 0);
    const folders = (await readdir(join(dir, 'ads'))).sort();
    assert.deepEqual(folders, ['coffee-lovers-in-small-apartments', 'outdoor-adventurers']);
    for (const folder of folders) {
      const files = (await readdir(join(dir, 'ads', folder))).sort();
      assert.deepEqual(files, [
        '1x1-v1.png',
        '1x1-v1.provenance.json',
        '1x1-v2.png',
        '1x1-v2.provenance.json',
        '9x16-v1.png',
        '9x16-v1.provenance.json',
        '9x16-v2.png',
        '9x16-v2.provenance.json',
      ]);
      const tall = await sharp(join(dir, 'ads', folder, '9x16-v2.png')).metadata();
      assert.deepEqual([tall.width, tall.height], [1080, 1920]);
      const provenance = JSON.parse(await readFile(join(dir, 'ads', folder, '9x16-v2.provenance.json'), 'utf8'));
      assert.equal(provenance.ad.format, '9:16');
      assert.equal(provenance.ad.variant, 2);
    }
  });

  it('run again, continues the same job instead of starting another', async () => {
    assert.equal(await run(), 0);
    const jobs = (await (await app.api('/v1/jobs')).json()) as { items: unknown[] };
    assert.equal(jobs.items.length, 1);
  });
});
