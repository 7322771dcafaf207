// Hosts one onnxruntime session on a worker thread (see onnx-worker.session.ts): onnxruntime-node
// runs a session synchronously on the calling thread, so on the main thread every batch would
// stall the event loop (store reads, bus deliveries, the next batch's decoding) for its length.
import { parentPort, workerData } from 'node:worker_threads';

import * as ort from 'onnxruntime-node';

import type { WireTensor, WorkerReply, WorkerRequest, WorkerStart } from './onnx-worker.session';

const toWire = (t: ort.Tensor): WireTensor => ({ type: t.type, data: t.data as WireTensor['data'], dims: [...t.dims] });

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('onnx-session.worker must run as a worker thread');
  const start = workerData as WorkerStart;
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(start.path, start.options);
  } catch (error) {
    port.postMessage({ type: 'failed', message: (error as Error).message } satisfies WorkerReply);
    return;
  }
  port.postMessage({ type: 'ready', inputNames: [...session.inputNames], outputNames: [...session.outputNames] } satisfies WorkerReply);
  port.on('message', (request: WorkerRequest) => {
    if (request.type === 'release') {
      void session.release().finally(() => port.postMessage({ type: 'released' } satisfies WorkerReply));
      return;
    }
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(request.feeds)) feeds[name] = new ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
    session.run(feeds).then(
      (outputs) => {
        const wire: Record<string, WireTensor> = {};
        const transfer: ArrayBuffer[] = [];
        for (const [name, t] of Object.entries(outputs)) {
          wire[name] = toWire(t);
          transfer.push((t.data as Float32Array).buffer as ArrayBuffer);
        }
        port.postMessage({ type: 'result', id: request.id, outputs: wire } satisfies WorkerReply, transfer);
      },
      (error: Error) => port.postMessage({ type: 'error', id: request.id, message: error.message } satisfies WorkerReply),
    );
  });
}

void main();
