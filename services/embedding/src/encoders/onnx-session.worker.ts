// Hosts onnxruntime sessions on a worker thread (see onnx-worker.session.ts): onnxruntime-node
// runs a session synchronously on the calling thread, so on the main thread every batch would
// stall the event loop (store reads, bus deliveries, the next batch's decoding) for its length.
import { parentPort } from 'node:worker_threads';

import * as ort from 'onnxruntime-node';

import type { WireTensor, WorkerReply, WorkerRequest } from './onnx-worker.session';

const toWire = (t: ort.Tensor): WireTensor => ({ type: t.type, data: t.data as WireTensor['data'], dims: [...t.dims] });

function main(): void {
  const port = parentPort;
  if (!port) throw new Error('onnx-session.worker must run as a worker thread');
  const sessions = new Map<number, ort.InferenceSession>();
  // Messages are handled one at a time, in order: a run never overlaps another on this thread.
  let work: Promise<void> = Promise.resolve();
  const handle = async (request: WorkerRequest): Promise<void> => {
    switch (request.type) {
      case 'open': {
        try {
          const session = await ort.InferenceSession.create(request.path, request.options);
          sessions.set(request.session, session);
          port.postMessage({
            type: 'opened',
            session: request.session,
            inputNames: [...session.inputNames],
            outputNames: [...session.outputNames],
          } satisfies WorkerReply);
        } catch (error) {
          port.postMessage({ type: 'failed', session: request.session, message: (error as Error).message } satisfies WorkerReply);
        }
        return;
      }
      case 'run': {
        // Every run of the message in turn, answered in one message: one thread hand-over per
        // batch of runs (both text towers of a query batch, or a caption batch run text by text).
        const results: Extract<WorkerReply, { type: 'results' }>['results'] = [];
        const transfer: ArrayBuffer[] = [];
        for (const run of request.runs) {
          const session = sessions.get(run.session);
          if (!session) {
            results.push({ id: run.id, error: `no session ${run.session} on this worker` });
            continue;
          }
          const feeds: Record<string, ort.Tensor> = {};
          for (const [name, t] of Object.entries(run.feeds)) feeds[name] = new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
          try {
            const outputs = await session.run(feeds);
            const wire: Record<string, WireTensor> = {};
            for (const [name, t] of Object.entries(outputs)) {
              wire[name] = toWire(t);
              transfer.push((t.data as Float32Array).buffer as ArrayBuffer);
            }
            results.push({ id: run.id, outputs: wire });
          } catch (error) {
            results.push({ id: run.id, error: (error as Error).message });
          }
        }
        port.postMessage({ type: 'results', results } satisfies WorkerReply, transfer);
        return;
      }
      case 'release': {
        const session = sessions.get(request.session);
        sessions.delete(request.session);
        await session?.release().catch(() => undefined);
        port.postMessage({ type: 'released', session: request.session } satisfies WorkerReply);
        return;
      }
    }
  };
  port.on('message', (request: WorkerRequest) => {
    work = work.then(() => handle(request));
  });
}

main();
