import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { ensureCaptionModel } from '../models/fetch-models';
import { MiniLmCaptionEncoder } from './caption/minilm-caption.encoder';
import { generateClipModels } from './clip/clip-model.generator';
import { OnnxClipEncoder } from './clip/onnx-clip.encoder';
import { sharedClipTokenizerDir } from './clip/shared-clip-dir';
import { OnnxWorkerHost } from './onnx-worker.session';

describe(OnnxWorkerHost.name, () => {
  let dir: string;
  let captionDir: string;
  let host: OnnxWorkerHost;
  let shared: { clip: OnnxClipEncoder; caption: MiniLmCaptionEncoder };
  let inline: { clip: OnnxClipEncoder; caption: MiniLmCaptionEncoder };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'adseed-worker-host-'));
    await generateClipModels({ kind: 'toy', outDir: join(dir, 'toy'), tokenizerDir: sharedClipTokenizerDir() });
    captionDir = await ensureCaptionModel(join(resolve(__dirname, '../../../..'), '.cache'));
    host = new OnnxWorkerHost();
    shared = {
      clip: await OnnxClipEncoder.load({ modelDir: join(dir, 'toy'), intraOpThreads: 1, textWorker: host }),
      caption: await MiniLmCaptionEncoder.load({ modelDir: captionDir, intraOpThreads: 1, worker: host }),
    };
    inline = {
      clip: await OnnxClipEncoder.load({ modelDir: join(dir, 'toy'), intraOpThreads: 1, textOnWorker: false, visionOnWorker: false }),
      caption: await MiniLmCaptionEncoder.load({ modelDir: captionDir, intraOpThreads: 1, onWorker: false }),
    };
  });
  after(async () => {
    await Promise.all([shared.clip.close(), shared.caption.close(), inline.clip.close(), inline.caption.close()]);
    await host.terminate();
    await rm(dir, { recursive: true, force: true });
  });

  it('sends the runs of one event-loop turn in one message, and each result to its caller', async () => {
    const texts = ['a red image', 'a photo of a blue car', 'green'];
    const before = { ...host.stats };
    // Both towers at once; the caption encoder runs its three texts one by one (batch size 1).
    const [clipVectors, captionVectors] = await Promise.all([shared.clip.embedTexts(texts), shared.caption.embedTexts(texts)]);
    assert.deepEqual({ runs: host.stats.runs - before.runs, messages: host.stats.messages - before.messages }, { runs: 4, messages: 1 });
    // The same vectors as the same models run on the calling thread, row for row.
    assert.deepEqual(clipVectors, await inline.clip.embedTexts(texts));
    assert.deepEqual(captionVectors, await inline.caption.embedTexts(texts));
  });

  it('fails only the run that fails', async () => {
    const session = await host.open(join(dir, 'toy', 'onnx', 'text_model.onnx'), { intraOpNumThreads: 1 });
    const ort = await import('onnxruntime-node');
    const good = session.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from([49406n, 320n, 49407n]), [1, 3]) });
    const bad = session.run({ input_ids: new ort.Tensor('float32', Float32Array.from([1, 2, 3]), [1, 3]) });
    const [ok, failed] = await Promise.allSettled([good, bad]);
    assert.equal(ok.status, 'fulfilled');
    assert.equal(failed.status, 'rejected');
    await session.release();
    // The shared worker outlives one of its sessions.
    assert.equal((await shared.clip.embedTexts(['red'])).length, 1);
  });
});
