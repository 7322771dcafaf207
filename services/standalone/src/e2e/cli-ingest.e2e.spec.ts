import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { runCli } from '../cli';
import { startTestApp, type TestApp } from './harness';

describe('adseed ingest <folder> (the CLI, against a running gateway)', () => {
  let app: TestApp;
  let folder: string;

  before(async () => {
    app = await startTestApp();
    folder = await mkdtemp(join(tmpdir(), 'adseed-cli-'));
    await mkdir(join(folder, 'dogs'));
    const jpeg = (r: number, g: number, b: number) => sharp({ create: { width: 64, height: 48, channels: 3, background: { r, g, b } } }).jpeg().toBuffer();
    await writeFile(join(folder, 'dogs', 'lake.jpg'), await jpeg(20, 90, 200));
    await writeFile(join(folder, 'dogs', 'park.jpg'), await jpeg(40, 160, 60));
    await writeFile(join(folder, 'broken.jpg'), Buffer.from('not an image at all'));
    await writeFile(join(folder, 'manifest.csv'), 'file,caption,tags\ndogs/lake.jpg,"a retriever swimming in a lake",outdoor;water\ndogs/park.jpg,a terrier running in a park,outdoor\n');
  });
  after(async () => {
    await app?.stop();
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  it('uploads every image with its manifest caption, reports the one that failed, and the rest get indexed', async () => {
    const code = await runCli(['ingest', folder, '--url', app.url, '--tenant', 'cli-test', '--concurrency', '2']);
    assert.equal(code, 2, 'non-zero because one file was rejected');
    await app.whenIdle();
    const listed = (await (await app.api('/v1/assets?kind=seed', { tenant: 'cli-test' })).json()) as { items: { caption?: string; tags: string[] }[] };
    assert.deepEqual(listed.items.map((i) => i.caption).sort(), ['a retriever swimming in a lake', 'a terrier running in a park']);
    const search = (await (await app.api('/v1/search', { method: 'POST', json: { text: 'a dog swimming', encoders: ['caption'] }, tenant: 'cli-test' })).json()) as { hits: { caption: string }[] };
    assert.equal(search.hits[0].caption, 'a retriever swimming in a lake');
  });
});
