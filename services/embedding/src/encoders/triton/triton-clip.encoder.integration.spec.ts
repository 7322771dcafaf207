import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';

import sharp from 'sharp';

import { generateClipModels } from '../clip/clip-model.generator';
import { OnnxClipEncoder } from '../clip/onnx-clip.encoder';
import { sharedClipTokenizerDir } from '../clip/shared-clip-dir';
import { TritonClipEncoder, type TritonClipEncoderOptions, type TritonEncoderLog } from './triton-clip.encoder';
import { unusedPort } from '@adseed/testing';

/*
 * Runs TritonClipEncoder against the real Triton server that scripts/infra/kserve.sh starts
 * (PyTriton's bundled tritonserver, CPU), serving a toy CLIP pair generated here. The server
 * gets its own infra cache folder (sharing the installed venv) and free ports, so this test
 * neither reuses nor stops a server someone else started.
 */

const REPO_ROOT = resolve(__dirname, '../../../../..');
const KSERVE_SCRIPT = join(REPO_ROOT, 'scripts/infra/kserve.sh');
const SHARED_INFRA_CACHE = process.env.ADSEED_INFRA_CACHE ?? join(REPO_ROOT, '.cache/infra');
const DEADLINE_MS = 1_000;

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

async function photo(r: number, g: number, b: number, width: number, height: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const wobble = ((i * 7 + Math.floor(i / width) * 13) % 31) - 15;
    raw[i * 3] = Math.max(0, Math.min(255, r + wobble));
    raw[i * 3 + 1] = Math.max(0, Math.min(255, g + wobble));
    raw[i * 3 + 2] = Math.max(0, Math.min(255, b + wobble));
  }
  return sharp(raw, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

/** A TCP relay to the server that can be told to withhold every reply: a stuck server. */
class StallableRelay {
  private stalled = false;
  private readonly sockets = new Set<Socket>();
  private constructor(private readonly server: Server) {}

  static async start(targetPort: number): Promise<StallableRelay> {
    const server = createServer();
    const relay = new StallableRelay(server);
    server.on('connection', (client) => {
      const upstream = connect(targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        relay.sockets.add(s);
        s.on('error', () => s.destroy());
        s.on('close', () => relay.sockets.delete(s));
      }
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream);
      upstream.on('data', (chunk: Buffer) => {
        if (!relay.stalled) client.write(chunk);
      });
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    return relay;
  }

  get address(): string {
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stall(): void {
    this.stalled = true;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((ok) => this.server.close(() => ok()));
  }
}

class RecordingLog implements TritonEncoderLog {
  readonly lines: { level: string; msg: string }[] = [];
  info(msg: string): void {
    this.lines.push({ level: 'info', msg });
  }
  warn(msg: string): void {
    this.lines.push({ level: 'warn', msg });
  }
  error(msg: string): void {
    this.lines.push({ level: 'error', msg });
  }
}

/**
 * Runs the infra script without blocking the event loop: while the server stops, grpc-js must
 * still be able to answer its shutdown of our connections, or Triton waits for them.
 */
function runScript(action: 'install' | 'start' | 'stop', env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ ok: boolean; output: string }> {
  return new Promise((done) => {
    execFile('bash', [KSERVE_SCRIPT, action], { env, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}${error && !stderr ? `\n${error.message}` : ''}`;
      done({ ok: !error, output: output.split('\n').slice(-25).join('\n') });
    });
  });
}

describe(`${TritonClipEncoder.name} against a real KServe v2 server (scripts/infra/kserve.sh)`, () => {
  let workDir: string;
  let modelDir: string;
  let infraCache: string;
  let serverEnv: NodeJS.ProcessEnv | undefined;
  let skipReason: string | undefined;
  let serverAddress: string;
  let onnx: OnnxClipEncoder;
  const opened: { close(): Promise<void> }[] = [];

  const colours: [number, number, number][] = [
    [220, 30, 30],
    [30, 60, 220],
    [40, 170, 60],
    [240, 220, 40],
    [15, 15, 15],
    [245, 245, 245],
    [130, 50, 160],
    [245, 140, 20],
  ];
  const texts = ['a red image', 'blue', 'a photo of a green field with yellow flowers', '', 'purple and pink', 'black and white magenta brown'];
  let images: Buffer[];

  async function open(options: Partial<TritonClipEncoderOptions> & Pick<TritonClipEncoderOptions, 'endpoints'>): Promise<TritonClipEncoder> {
    const encoder = await TritonClipEncoder.load({ modelDir, timeoutMs: DEADLINE_MS, ...options });
    opened.push(encoder);
    return encoder;
  }

  /** Skips the test only when the server could not be installed on this machine. */
  function needServer(t: TestContext): boolean {
    if (skipReason) t.skip(skipReason);
    return !skipReason;
  }

  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'adseed-triton-it-'));
    modelDir = join(workDir, 'toy');
    await generateClipModels({ kind: 'toy', outDir: modelDir, tokenizerDir: sharedClipTokenizerDir() });
    onnx = await OnnxClipEncoder.load({ modelDir, intraOpThreads: 1 });
    images = await Promise.all(colours.map(([r, g, b], i) => photo(r, g, b, 64 + i * 24, 220 - i * 12)));

    const install = await runScript('install', { ...process.env, ADSEED_INFRA_CACHE: SHARED_INFRA_CACHE, ADSEED_KSERVE_MODEL_DIR: modelDir }, 15 * 60_000);
    if (!install.ok) {
      skipReason = `the KServe server (PyPI nvidia-pytriton) cannot be installed on this machine: ${install.output}`;
      return;
    }
    // Own cache folder (pid file, log, workspace) and ports; the installed venv is shared.
    infraCache = join(REPO_ROOT, '.cache', 'triton-it', String(process.pid));
    await mkdir(infraCache, { recursive: true });
    await symlink(join(SHARED_INFRA_CACHE, 'venv'), join(infraCache, 'venv'));
    const [grpcPort, httpPort, metricsPort] = [await unusedPort(), await unusedPort(), await unusedPort()];
    serverEnv = {
      ...process.env,
      ADSEED_INFRA_CACHE: infraCache,
      ADSEED_KSERVE_MODEL_DIR: modelDir,
      ADSEED_KSERVE_GRPC_PORT: String(grpcPort),
      ADSEED_KSERVE_HTTP_PORT: String(httpPort),
      ADSEED_KSERVE_METRICS_PORT: String(metricsPort),
      ADSEED_KSERVE_START_TIMEOUT: '120',
    };
    const start = await runScript('start', serverEnv, 180_000);
    assert.ok(start.ok, `scripts/infra/kserve.sh start failed:\n${start.output}`);
    serverAddress = `127.0.0.1:${grpcPort}`;
  });

  after(async () => {
    await Promise.allSettled(opened.map((e) => e.close()));
    await onnx?.close();
    if (serverEnv) {
      const stop = await runScript('stop', serverEnv, 60_000);
      if (!stop.ok) process.stderr.write(`kserve.sh stop failed:\n${stop.output}\n`);
    }
    if (infraCache) await rm(infraCache, { recursive: true, force: true });
    await rm(workDir, { recursive: true, force: true });
  });

  it("reports the identity from ModelMetadata and gives the in-process encoder's vectors (cosine > 0.999)", async (t) => {
    if (!needServer(t)) return;
    const triton = await open({ endpoints: [serverAddress] });
    assert.deepEqual(triton.info, { modelId: 'clip_image+clip_text', modelVersion: '1+1', dim: 512 });
    const [remoteImages, localImages] = [await triton.embedImages(images), await onnx.embedImages(images)];
    const [remoteTexts, localTexts] = [await triton.embedTexts(texts), await onnx.embedTexts(texts)];
    assert.equal(remoteImages.length, images.length);
    assert.equal(remoteTexts.length, texts.length);
    remoteImages.forEach((v, i) => assert.ok(dot(v, localImages[i]) > 0.999, `image ${i}: cosine ${dot(v, localImages[i])}`));
    remoteTexts.forEach((v, i) => {
      // The toy text tower maps texts without colour words to zero; both sides must agree.
      if (dot(localTexts[i], localTexts[i]) === 0) assert.equal(dot(v, v), 0, `text ${i} should be a zero vector`);
      else assert.ok(dot(v, localTexts[i]) > 0.999, `text ${i}: cosine ${dot(v, localTexts[i])}`);
    });
    // The vectors mean what they should: "red" ranks the red image above the blue one.
    const [red] = await triton.embedTexts(['red']);
    assert.ok(dot(red, remoteImages[0]) > dot(red, remoteImages[1]));
    assert.equal(triton.usingFallback, false);
  });

  it('merges concurrent calls into batches of at most batchSize, in order', async (t) => {
    if (!needServer(t)) return;
    const batches: { tower: string; size: number }[] = [];
    const triton = await open({ endpoints: [serverAddress], batchSize: 3, batchWaitMs: 50, onBatch: (tower, size) => batches.push({ tower, size }) });
    const many = [...images, images[0]];
    const vectors = await triton.embedImages(many);
    assert.deepEqual(
      batches
        .filter((b) => b.tower === 'clip-image')
        .map((b) => b.size)
        .sort(),
      [3, 3, 3],
    );
    assert.ok(dot(vectors[8], vectors[0]) > 0.9999, 'the same image in two batches gives the same vector');

    const perCaller = await Promise.all([triton.embedTexts(['red']), triton.embedTexts(['green', 'blue']), triton.embedTexts(['yellow'])]);
    const textBatches = batches
      .filter((b) => b.tower === 'clip-text')
      .map((b) => b.size)
      .sort();
    assert.deepEqual(textBatches, [1, 3], 'four texts from three callers in a batch of 3 and one of 1');
    const alone = await onnx.embedTexts(['red', 'green', 'blue', 'yellow']);
    perCaller.flat().forEach((v, i) => assert.ok(dot(v, alone[i]) > 0.999, `text ${i} went back to the wrong caller`));

    // 16 images are 9.6 MB of pixels: more than gRPC's default 4 MB message limit.
    const big = await open({ endpoints: [serverAddress], batchSize: 16, onBatch: (tower, size) => batches.push({ tower: `big-${tower}`, size }) });
    const sixteen = Array.from({ length: 16 }, (_, i) => images[i % images.length]);
    const bigVectors = await big.embedImages(sixteen);
    assert.deepEqual(
      batches.filter((b) => b.tower === 'big-clip-image').map((b) => b.size),
      [16],
    );
    assert.ok(dot(bigVectors[15], vectors[7]) > 0.9999);
  });

  it('fails over to the next endpoint when the first is a dead port', async (t) => {
    if (!needServer(t)) return;
    const dead = `127.0.0.1:${await unusedPort()}`;
    const triton = await open({ endpoints: [dead, serverAddress] });
    const [v] = await triton.embedImages([images[2]]);
    const [expected] = await onnx.embedImages([images[2]]);
    assert.ok(dot(v, expected) > 0.999);
    const health = triton.endpointHealth();
    assert.equal(health[0].address, dead);
    assert.equal(health[0].state, 'down');
    assert.match(health[0].lastError ?? '', /ServerReady on 127\.0\.0\.1:\d+ failed \(UNAVAILABLE\)/);
    assert.deepEqual(health[1], { address: serverAddress, state: 'up' });
    assert.equal(triton.usingFallback, false);
  });

  it('without a fallback, refuses to start when no endpoint answers, naming each one', async (t) => {
    if (!needServer(t)) return;
    const dead = [`127.0.0.1:${await unusedPort()}`, `127.0.0.1:${await unusedPort()}`];
    await assert.rejects(open({ endpoints: dead }), (error: Error) => {
      for (const address of dead) assert.ok(error.message.includes(address), error.message);
      assert.match(error.message, /TRITON_FALLBACK_ONNX=true/);
      return true;
    });
  });

  it('falls back to the in-process ONNX encoder when every endpoint is dead, and logs it', async (t) => {
    if (!needServer(t)) return;
    const log = new RecordingLog();
    const dead = [`127.0.0.1:${await unusedPort()}`, `127.0.0.1:${await unusedPort()}`];
    const triton = await open({ endpoints: dead, fallbackToOnnx: true, intraOpThreads: 1, logger: log });
    assert.deepEqual(triton.info, onnx.info, "with the fallback, the identity is the local model's");
    assert.equal(triton.usingFallback, true);
    const vectors = await triton.embedImages(images.slice(0, 3));
    const expected = await onnx.embedImages(images.slice(0, 3));
    vectors.forEach((v, i) => assert.deepEqual(v, expected[i]));
    assert.deepEqual(await triton.embedTexts(['red']), await onnx.embedTexts(['red']));
    const warnings = log.lines.filter((l) => l.level === 'warn');
    assert.equal(warnings.length, 1, 'one warning per outage, not one per batch');
    assert.match(warnings[0].msg, /embedding in process with adseed\/clip-toy-colour/);
    assert.ok(triton.endpointHealth().every((h) => h.state === 'down'));
  });

  it('gives up on a stuck server after the deadline with an error naming the endpoint and TRITON_TIMEOUT_MS', async (t) => {
    if (!needServer(t)) return;
    const relay = await StallableRelay.start(Number(serverAddress.split(':')[1]));
    t.after(() => relay.close());
    const triton = await open({ endpoints: [relay.address] });
    await triton.embedTexts(['red']); // healthy through the relay
    relay.stall();
    await assert.rejects(triton.embedTexts(['blue']), (error: Error) => {
      assert.match(
        error.message,
        new RegExp(`ModelInfer clip_text on ${relay.address.replace(/\./g, '\\.')}: no answer within ${DEADLINE_MS} ms \\(TRITON_TIMEOUT_MS\\)`),
      );
      return true;
    });
    assert.equal(triton.endpointHealth()[0].state, 'down');
  });

  it('with the fallback, a server that gets stuck mid-run is replaced by the in-process encoder', async (t) => {
    if (!needServer(t)) return;
    const relay = await StallableRelay.start(Number(serverAddress.split(':')[1]));
    t.after(() => relay.close());
    const log = new RecordingLog();
    const triton = await open({ endpoints: [relay.address], fallbackToOnnx: true, intraOpThreads: 1, logger: log });
    assert.equal(triton.usingFallback, false, 'Triton answered at start-up (and agreed with the local model)');
    relay.stall();
    const [v] = await triton.embedImages([images[3]]);
    assert.deepEqual(v, (await onnx.embedImages([images[3]]))[0]);
    assert.equal(triton.usingFallback, true);
    assert.match(log.lines.find((l) => l.level === 'warn')?.msg ?? '', /no Triton endpoint can serve/);
  });
});
