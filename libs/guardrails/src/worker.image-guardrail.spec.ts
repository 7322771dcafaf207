import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { loadConfig } from '@adseed/config';
import { SAMPLE_PHOTOS_DIR } from '@adseed/testing';
import { GuardrailsEnv } from './guardrails.env';
import { ImageModerationUnavailableError } from './image-guardrail.port';
import { DEFAULT_NSFW_ONNX_PATH } from './nsfw-classes';
import { NsfwjsImageGuardrail } from './nsfwjs.image-classifier';
import { WorkerImageGuardrail } from './worker.image-guardrail';

/** Made by tools/make-flagged-fixture.ts: grey plus an adversarial pattern; it depicts nothing. */
const FLAGGED_FIXTURE = join(__dirname, '..', 'fixtures', 'adversarial-porn-224.png');
/** The product's default thresholds (ADSEED_NSFW_THRESHOLDS unset). */
const DEFAULT_THRESHOLDS = loadConfig(GuardrailsEnv, {}).ADSEED_NSFW_THRESHOLDS;

async function images(): Promise<Buffer[]> {
  const out = [
    readFileSync(FLAGGED_FIXTURE),
    await sharp({ create: { width: 640, height: 360, channels: 3, background: { r: 30, g: 140, b: 60 } } })
      .jpeg()
      .toBuffer(),
  ];
  const pet = join(SAMPLE_PHOTOS_DIR, 'beagle');
  // Real photos too, when the demo library is on this machine.
  if (existsSync(pet))
    out.push(
      ...readdirSync(pet)
        .filter((f) => f.endsWith('.jpg'))
        .sort()
        .slice(0, 3)
        .map((f) => readFileSync(join(pet, f))),
    );
  return out;
}

describe(WorkerImageGuardrail.name, () => {
  const inThread = new NsfwjsImageGuardrail({ model: 'MobileNetV2', thresholds: DEFAULT_THRESHOLDS });
  const pooled = new WorkerImageGuardrail({ model: 'MobileNetV2', thresholds: DEFAULT_THRESHOLDS });

  before(() => Promise.all([inThread.warmUp(), pooled.warmUp()]));
  after(() => pooled.close());

  it('gives the in-thread classifier’s verdicts, image for image (tfjs-wasm in a worker thread)', async () => {
    for (const image of await images()) {
      const [mine, theirs] = [await pooled.check(image), await inThread.check(image)];
      assert.deepEqual(mine, theirs);
      assert.deepEqual(await pooled.probabilities(image), await inThread.probabilities(image));
    }
    assert.equal((await pooled.check(readFileSync(FLAGGED_FIXTURE))).flagged, true, 'the fixture is flagged through the worker too');
  });

  it('keeps the event loop free while it classifies: a 10 ms timer fires before each verdict arrives', async (t) => {
    // On the caller's thread the inference (≈ 50–300 ms) blocks the loop, so the timer waits for
    // the verdict whenever sharp's (asynchronous) decode took under 10 ms: over three rounds that
    // order shows up almost surely. In the worker the loop stays free for the timer every time.
    const image = readFileSync(FLAGGED_FIXTURE);
    const expected = await inThread.check(image);
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    for (let round = 0; round < 3; round++) {
      const order: string[] = [];
      const timer = new Promise<void>((done) => setTimeout(() => done(void order.push('timer')), 10));
      const verdict = await pooled.check(image).then((v) => {
        order.push('verdict');
        return v;
      });
      await timer;
      assert.deepEqual(verdict, expected);
      assert.deepEqual(order, ['timer', 'verdict'], `round ${round}`);
    }
    delay.disable();
    t.diagnostic(
      `event-loop delay while classifying: max ${(delay.max / 1e6).toFixed(1)} ms, p99 ${(delay.percentile(99) / 1e6).toFixed(1)} ms, mean ${(delay.mean / 1e6).toFixed(1)} ms`,
    );
  });

  it('classifies concurrent calls in order through one worker, and leaves the caller’s buffers intact', async () => {
    const all = await images();
    const copies = all.map((b) => Buffer.from(b));
    const verdicts = await Promise.all(all.map((b) => pooled.check(b)));
    for (let i = 0; i < all.length; i++) {
      assert.deepEqual(verdicts[i], await inThread.check(all[i]));
      assert.ok(all[i].equals(copies[i]), 'the caller’s Buffer is not detached or changed');
    }
  });

  it('rejects what is not an image as the in-thread classifier does (not as “unavailable”)', async () => {
    const garbage = Buffer.from('not an image');
    const theirs = await inThread.check(garbage).then(
      () => undefined,
      (e: Error) => e,
    );
    await assert.rejects(pooled.check(garbage), (error: Error) => !(error instanceof ImageModerationUnavailableError) && error.message === theirs?.message);
  });

  it('reports a model that cannot load as unavailable, from warmUp and from check', async () => {
    const broken = new WorkerImageGuardrail({
      model: 'MobileNetV2',
      thresholds: DEFAULT_THRESHOLDS,
      runtime: 'onnx',
      onnxPath: join(tmpdir(), 'no-such-model.onnx'),
    });
    try {
      await assert.rejects(broken.warmUp(), ImageModerationUnavailableError);
      await assert.rejects(broken.check(readFileSync(FLAGGED_FIXTURE)), ImageModerationUnavailableError);
    } finally {
      await broken.close();
    }
  });
});

/**
 * A stand-in worker speaking the pool's protocol, to crash, throw or hang on demand: the first
 * byte of the "image" says what to do.
 */
const STAND_IN = `
const { parentPort } = require('node:worker_threads');
parentPort.postMessage({ type: 'ready' });
parentPort.on('message', ({ id, image }) => {
  if (image[0] === 1) process.exit(7);
  if (image[0] === 2) throw new Error('boom in the worker');
  if (image[0] === 3) return; // never answers
  parentPort.postMessage({ type: 'result', id, probabilities: [0.05, 0.05, 0.1, 0.75, 0.05] });
});
`;

describe(`${WorkerImageGuardrail.name}: crashes, hangs and shutdown`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'nsfw-worker-'));
  const script = join(dir, 'stand-in.worker.js');
  writeFileSync(script, STAND_IN);
  after(() => rmSync(dir, { recursive: true, force: true }));
  const ok = Buffer.from([0]);

  it('a worker that exits fails its call clearly, is replaced, and the next call succeeds', async () => {
    const exits: string[] = [];
    const pool = new WorkerImageGuardrail({ model: 'MobileNetV2', thresholds: DEFAULT_THRESHOLDS, script, onWorkerExit: (r) => exits.push(r) });
    try {
      assert.deepEqual((await pool.check(ok)).reasons, ['porn']);
      await assert.rejects(
        pool.check(Buffer.from([1])),
        (e: Error) => e instanceof ImageModerationUnavailableError && /worker thread exited \(code 7\)/.test(e.message),
      );
      assert.equal(exits.length, 1);
      assert.deepEqual((await pool.check(ok)).reasons, ['porn']);
      // An uncaught exception in the worker: its message reaches the caller.
      await assert.rejects(pool.check(Buffer.from([2])), (e: Error) => e instanceof ImageModerationUnavailableError && /boom in the worker/.test(e.message));
      assert.deepEqual((await pool.check(ok)).reasons, ['porn']);
    } finally {
      await pool.close();
    }
  });

  it('a call with no answer times out as unavailable; the stuck worker is replaced and the queue behind it served', async () => {
    // The deadline counts from the call (queueing included): the second call, made halfway, waits
    // behind the stuck one and is served by the replacement before its own deadline.
    const pool = new WorkerImageGuardrail({ model: 'MobileNetV2', thresholds: DEFAULT_THRESHOLDS, script, timeoutMs: 2_000 });
    try {
      await pool.warmUp();
      const stuck = pool.check(Buffer.from([3]));
      const failed = assert.rejects(stuck, (e: Error) => e instanceof ImageModerationUnavailableError && /did not answer within 2000 ms/.test(e.message));
      await new Promise((r) => setTimeout(r, 1_000));
      const behind = pool.check(ok);
      await failed;
      assert.deepEqual((await behind).reasons, ['porn']);
    } finally {
      await pool.close();
    }
  });

  it('with two workers, a call is served while the other worker is busy', async () => {
    const pool = new WorkerImageGuardrail({ model: 'MobileNetV2', thresholds: DEFAULT_THRESHOLDS, script, workers: 2, timeoutMs: 60_000 });
    try {
      await pool.warmUp();
      const busy = assert.rejects(pool.check(Buffer.from([3])), /shut down/);
      assert.deepEqual((await pool.check(ok)).reasons, ['porn'], 'not queued behind the busy worker');
      await pool.close();
      await busy;
    } finally {
      await pool.close();
    }
  });

  it('close() fails the calls in flight and later calls as unavailable, and ends the threads', async () => {
    const pool = new WorkerImageGuardrail({ model: 'MobileNetV2', thresholds: DEFAULT_THRESHOLDS, script, workers: 2 });
    await pool.warmUp();
    const inFlight = assert.rejects(pool.check(Buffer.from([3])), (e: Error) => e instanceof ImageModerationUnavailableError && /shut down/.test(e.message));
    await pool.close();
    await inFlight;
    await assert.rejects(pool.check(ok), /shut down/);
  });
});

/**
 * onnxruntime on the converted model (bash libs/guardrails/onnx/convert.sh, run by scripts/test.sh
 * before the specs): a missing file fails here rather than skipping.
 */
describe('ADSEED_IMAGE_GUARDRAIL_RUNTIME=onnx', () => {
  const onnxPath = resolve(__dirname, '..', '..', '..', DEFAULT_NSFW_ONNX_PATH);
  const tfjs = new NsfwjsImageGuardrail({ model: 'MobileNetV2', thresholds: DEFAULT_THRESHOLDS });

  it('agrees with tfjs on every class to 1e-3, and on the verdicts, in a worker thread', async () => {
    assert.ok(existsSync(onnxPath), `no ${onnxPath}: make it with bash libs/guardrails/onnx/convert.sh`);
    const onnx = new WorkerImageGuardrail({ model: 'MobileNetV2', thresholds: DEFAULT_THRESHOLDS, runtime: 'onnx', onnxPath });
    try {
      assert.equal(onnx.model, 'nsfwjs:MobileNetV2/onnx');
      for (const image of await images()) {
        const [mine, theirs] = [await onnx.probabilities(image), await tfjs.probabilities(image)];
        mine.forEach((p, i) => assert.ok(Math.abs(p - theirs[i]) < 1e-3, `class ${i}: onnx ${p} vs tfjs ${theirs[i]}`));
        const [a, b] = [await onnx.check(image), await tfjs.check(image)];
        assert.deepEqual([a.flagged, a.reasons], [b.flagged, b.reasons]);
      }
    } finally {
      await onnx.close();
    }
  });
});
