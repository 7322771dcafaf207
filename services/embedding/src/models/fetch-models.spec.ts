import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';

import {
  CAPTION_SHA256,
  CLIP_HF_REPO,
  CLIP_HF_REVISION,
  downloadVerified,
  ensureCaptionModel,
  fetchClipWeights,
  parseFetchModelsArgs,
  sha256File,
} from './fetch-models';

type Route = Buffer | 'stall';

/** A local stand-in for Hugging Face: serves fixed bytes per path and records what was asked. */
class FakeHub {
  readonly routes = new Map<string, Route>();
  readonly requests: string[] = [];
  private readonly server: Server;
  private readonly stalled = new Set<ServerResponse>();

  constructor() {
    this.server = createServer((req, res) => {
      const path = req.url ?? '';
      this.requests.push(path);
      const route = this.routes.get(path);
      if (route === undefined) {
        res.writeHead(404).end('not found');
      } else if (route === 'stall') {
        // Headers and a first chunk, then silence: what a dead connection looks like.
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.write('partial');
        this.stalled.add(res);
      } else {
        res.writeHead(200, { 'content-length': route.length }).end(route);
      }
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((ok) => this.server.listen(0, '127.0.0.1', ok));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const res of this.stalled) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((ok) => this.server.close(() => ok()));
  }
}

function sha256(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function leftovers(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      if (/\.part-|\.tmp-|^\.mvn-/.test(entry.name)) found.push(join(d, entry.name));
      if (entry.isDirectory()) await walk(join(d, entry.name));
    }
  };
  await walk(dir);
  return found;
}

describe('fetch-models', () => {
  let hub: FakeHub;
  let baseUrl: string;
  let scratch: string;

  before(async () => {
    hub = new FakeHub();
    baseUrl = await hub.start();
    scratch = await mkdtemp(join(tmpdir(), 'fetch-models-'));
  });
  after(async () => {
    await hub.stop();
    await rm(scratch, { recursive: true, force: true });
  });
  afterEach(() => {
    hub.routes.clear();
    hub.requests.length = 0;
  });

  describe(parseFetchModelsArgs.name, () => {
    it('fetches both by default, and only what is named otherwise', () => {
      assert.deepEqual(parseFetchModelsArgs([]), { cacheDir: '.cache', clip: true, caption: true, explicit: false, captionSource: 'maven' });
      const clipOnly = parseFetchModelsArgs(['--clip', '--cache-dir', '/x']);
      assert.equal(clipOnly.caption, false);
      assert.equal(clipOnly.explicit, true);
      assert.equal(clipOnly.cacheDir, '/x');
      assert.equal(parseFetchModelsArgs(['--caption-source=huggingface']).captionSource, 'huggingface');
    });

    it('names the bad argument', () => {
      assert.throws(() => parseFetchModelsArgs(['--caption-source', 'ftp']), /--caption-source must be maven or huggingface; got ftp/);
      assert.throws(() => parseFetchModelsArgs(['--cache-dir']), /--cache-dir needs a value/);
      assert.throws(() => parseFetchModelsArgs(['--gpu']), /unknown argument --gpu/);
    });
  });

  describe(downloadVerified.name, () => {
    it('streams the bytes into place when the sum matches', async () => {
      const bytes = Buffer.from('fake weights '.repeat(1000));
      hub.routes.set('/w.bin', bytes);
      const dest = join(scratch, 'ok', 'w.bin');
      await downloadVerified({ url: `${baseUrl}/w.bin`, dest, sha256: sha256(bytes), timeoutMs: 10_000 });
      assert.deepEqual(await readFile(dest), bytes);
      assert.deepEqual(await leftovers(join(scratch, 'ok')), []);
    });

    it('keeps nothing when the sum differs', async () => {
      hub.routes.set('/w.bin', Buffer.from('tampered'));
      const dest = join(scratch, 'bad', 'w.bin');
      await assert.rejects(
        downloadVerified({ url: `${baseUrl}/w.bin`, dest, sha256: sha256('original'), timeoutMs: 10_000 }),
        new RegExp(`sha256 mismatch .*got ${sha256('tampered')}, expected ${sha256('original')}`),
      );
      assert.deepEqual(await readdir(join(scratch, 'bad')), []);
    });

    it('reports the HTTP status and the URL', async () => {
      await assert.rejects(
        downloadVerified({ url: `${baseUrl}/missing.bin`, dest: join(scratch, 'nf', 'x'), timeoutMs: 10_000 }),
        /cannot download http:\/\/127\.0\.0\.1:\d+\/missing\.bin: HTTP 404/,
      );
    });

    it('gives up on a stream that stops sending, leaving no partial file', async () => {
      hub.routes.set('/slow.bin', 'stall');
      const dir = join(scratch, 'stall');
      await assert.rejects(downloadVerified({ url: `${baseUrl}/slow.bin`, dest: join(dir, 'slow.bin'), timeoutMs: 200 }), /no data for 200 ms/);
      assert.deepEqual(await readdir(dir), []);
    });
  });

  describe(fetchClipWeights.name, () => {
    const prefix = `/${CLIP_HF_REPO}/resolve/${CLIP_HF_REVISION}`;
    const vision = Buffer.from('fake vision model');
    const text = Buffer.from('fake text model');
    const weights = [
      { file: 'onnx/vision_model_quantized.onnx', sha256: sha256(vision) },
      { file: 'onnx/text_model_quantized.onnx', sha256: sha256(text) },
    ];
    let sharedDir: string;

    before(async () => {
      // A shared folder that lacks preprocessor_config.json: that one must come from the hub.
      sharedDir = join(scratch, 'shared');
      await mkdir(sharedDir, { recursive: true });
      await writeFile(join(sharedDir, 'tokenizer.json'), '{"shared":true}');
      await writeFile(join(sharedDir, 'config.json'), '{}');
      await writeFile(join(sharedDir, 'merges.txt'), '#version');
    });

    function serveClip(): void {
      hub.routes.set(`${prefix}/onnx/vision_model_quantized.onnx`, vision);
      hub.routes.set(`${prefix}/onnx/text_model_quantized.onnx`, text);
      hub.routes.set(`${prefix}/preprocessor_config.json`, Buffer.from('{"crop_size":224}'));
    }

    it('lays out the Hugging Face tree, then does nothing on a second run', async () => {
      serveClip();
      const modelDir = join(scratch, 'clip');
      assert.equal(await fetchClipWeights(modelDir, { baseUrl, sharedDir, weights, timeoutMs: 10_000 }), modelDir);
      assert.deepEqual(await readFile(join(modelDir, 'onnx/vision_model_quantized.onnx')), vision);
      assert.deepEqual(await readFile(join(modelDir, 'onnx/text_model_quantized.onnx')), text);
      assert.equal(await readFile(join(modelDir, 'tokenizer.json'), 'utf8'), '{"shared":true}');
      assert.equal(await readFile(join(modelDir, 'preprocessor_config.json'), 'utf8'), '{"crop_size":224}');
      assert.equal(await readFile(join(modelDir, 'merges.txt'), 'utf8'), '#version');
      assert.deepEqual(hub.requests.sort(), [
        `${prefix}/onnx/text_model_quantized.onnx`,
        `${prefix}/onnx/vision_model_quantized.onnx`,
        `${prefix}/preprocessor_config.json`,
      ]);
      assert.deepEqual(await leftovers(modelDir), []);

      hub.requests.length = 0;
      await fetchClipWeights(modelDir, { baseUrl, sharedDir, weights, timeoutMs: 10_000 });
      assert.deepEqual(hub.requests, []);
    });

    it('replaces a weight file whose sum is wrong', async () => {
      serveClip();
      const modelDir = join(scratch, 'clip-repair');
      await fetchClipWeights(modelDir, { baseUrl, sharedDir, weights, timeoutMs: 10_000 });
      await writeFile(join(modelDir, 'onnx/text_model_quantized.onnx'), 'bit rot');
      hub.requests.length = 0;
      await fetchClipWeights(modelDir, { baseUrl, sharedDir, weights, timeoutMs: 10_000 });
      assert.deepEqual(hub.requests, [`${prefix}/onnx/text_model_quantized.onnx`]);
      assert.deepEqual(await readFile(join(modelDir, 'onnx/text_model_quantized.onnx')), text);
    });

    it('checks the pinned sums by default, so fake bytes are refused', async () => {
      serveClip();
      const modelDir = join(scratch, 'clip-pinned');
      await assert.rejects(
        fetchClipWeights(modelDir, { baseUrl, sharedDir, timeoutMs: 10_000 }),
        /sha256 mismatch .*expected 583fd1110a514667812fee7d684952aaf82a99b959760c8d7dca7e0ab9839299/,
      );
      assert.deepEqual(await readdir(join(modelDir, 'onnx')), []);
    });

    it('fails fast with the URL when the hub cannot be reached', async () => {
      const modelDir = join(scratch, 'clip-offline');
      // A port nothing listens on: the hub is stopped only for this call's address.
      const closed = new FakeHub();
      const deadUrl = await closed.start();
      await closed.stop();
      await assert.rejects(
        fetchClipWeights(modelDir, { baseUrl: deadUrl, sharedDir, weights, timeoutMs: 10_000 }),
        /cannot download http:\/\/127\.0\.0\.1:\d+\/Xenova/,
      );
    });
  });

  describe(ensureCaptionModel.name, () => {
    it('says how to get Maven when it is missing, and leaves no half-made folder', async () => {
      const cacheDir = join(scratch, 'no-mvn');
      await assert.rejects(ensureCaptionModel(cacheDir, { mvnCommand: join(scratch, 'no-such-mvn') }), /not found on PATH.*apt-get install maven/);
      assert.deepEqual(await readdir(join(cacheDir, 'models')), []);
      assert.deepEqual(await leftovers(cacheDir), []);
    });

    it('fetches from a Hugging Face mirror, checks the pinned sum, and is idempotent', async () => {
      // Real bytes come from the Maven route (cached under <repo>/.cache after the first run).
      const realDir = await ensureCaptionModel(join(resolve(__dirname, '../../../..'), '.cache'));
      assert.equal(await sha256File(join(realDir, 'model.onnx')), CAPTION_SHA256.onnx);
      hub.routes.set('/Xenova/all-MiniLM-L6-v2/resolve/main/onnx/model_quantized.onnx', await readFile(join(realDir, 'model.onnx')));
      hub.routes.set('/Xenova/all-MiniLM-L6-v2/resolve/main/tokenizer.json', await readFile(join(realDir, 'tokenizer.json')));

      const cacheDir = join(scratch, 'hf-cache');
      const dir = await ensureCaptionModel(cacheDir, { source: 'huggingface', baseUrl, timeoutMs: 30_000 });
      assert.equal(dir, join(cacheDir, 'models', 'all-minilm-l6-v2'));
      assert.deepEqual((await readdir(dir)).sort(), ['SOURCE.md', 'model.onnx', 'tokenizer.json']);
      const source = await readFile(join(dir, 'SOURCE.md'), 'utf8');
      assert.match(source, /Hugging Face/);
      assert.match(source, new RegExp(CAPTION_SHA256.onnx));
      assert.match(source, /Apache-2\.0/);

      hub.requests.length = 0;
      assert.equal(await ensureCaptionModel(cacheDir, { source: 'huggingface', baseUrl }), dir);
      assert.deepEqual(hub.requests, []);
      assert.deepEqual(await leftovers(cacheDir), []);
    });

    it('refuses a mirror that serves different weights', async () => {
      hub.routes.set('/Xenova/all-MiniLM-L6-v2/resolve/main/onnx/model_quantized.onnx', Buffer.from('other model'));
      hub.routes.set('/Xenova/all-MiniLM-L6-v2/resolve/main/tokenizer.json', Buffer.from('{}'));
      const cacheDir = join(scratch, 'hf-wrong');
      await assert.rejects(ensureCaptionModel(cacheDir, { source: 'huggingface', baseUrl }), /has sha256 .*expected afdb6f1a/);
      assert.deepEqual(await readdir(join(cacheDir, 'models')), []);
    });
  });
});
