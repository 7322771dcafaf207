import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
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
    const jpeg = (r: number, g: number, b: number) =>
      sharp({ create: { width: 64, height: 48, channels: 3, background: { r, g, b } } })
        .jpeg()
        .toBuffer();
    await writeFile(join(folder, 'dogs', 'lake.jpg'), await jpeg(20, 90, 200));
    await writeFile(join(folder, 'dogs', 'park.jpg'), await jpeg(40, 160, 60));
    await writeFile(join(folder, 'broken.jpg'), Buffer.from('not an image at all'));
    await writeFile(
      join(folder, 'manifest.csv'),
      'file,caption,tags\ndogs/lake.jpg,"a retriever swimming in a lake",outdoor;water\ndogs/park.jpg,a terrier running in a park,outdoor\n',
    );
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
    const search = (await (
      await app.api('/v1/search', { method: 'POST', json: { text: 'a dog swimming', encoders: ['caption'] }, tenant: 'cli-test' })
    ).json()) as { hits: { caption: string }[] };
    assert.equal(search.hits[0].caption, 'a retriever swimming in a lake');
  });

  it('says plainly when the server is not reachable, for --url and for ADSEED_URL, before uploading anything', async () => {
    // A port that was free a moment ago: nothing listens there.
    const closed = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const url = `http://127.0.0.1:${closed}`;
    await assert.rejects(runCli(['ingest', folder, '--url', url]), (error: Error) => {
      assert.match(error.message, new RegExp(`the adseed server at ${url.replace(/[.]/g, '\\.')} is not reachable \\(ECONNREFUSED\\)`));
      assert.match(error.message, /--url or ADSEED_URL/);
      return true;
    });
    const previous = process.env.ADSEED_URL;
    process.env.ADSEED_URL = `${url}/`;
    try {
      await assert.rejects(runCli(['ingest', folder]), new RegExp(`at ${url.replace(/[.]/g, '\\.')} is not reachable`));
      await assert.rejects(runCli(['campaign', '--brand', 'brands/x/pack.png', '--segments', join(folder, 'manifest.csv')]), /is not reachable/);
    } finally {
      if (previous === undefined) delete process.env.ADSEED_URL;
      else process.env.ADSEED_URL = previous;
    }
  });
});
