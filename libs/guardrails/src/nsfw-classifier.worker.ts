/**
 * The worker thread behind WorkerImageGuardrail: loads the model once (workerData: the scorer's
 * options) and answers one classification at a time. Protocol: see nsfw-worker.protocol.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ImageModerationUnavailableError } from './image-guardrail.port';
import { NsfwjsImageGuardrail } from './nsfwjs.image-classifier';
import type { NsfwScorerOptions } from './nsfw-scorer';
import type { ToNsfwWorker, FromNsfwWorker } from './nsfw-worker.protocol';

const port = parentPort!;
const post = (message: FromNsfwWorker): void => port.postMessage(message);
// Thresholds stay with the caller: the worker only scores.
const classifier = new NsfwjsImageGuardrail({ ...(workerData as NsfwScorerOptions), thresholds: {} });

classifier.warmUp().then(
  () => post({ type: 'ready' }),
  (error: Error) => post({ type: 'load-failed', message: error.message }),
);

port.on('message', (message: ToNsfwWorker) => {
  classifier.probabilities(message.image).then(
    (probabilities) => post({ type: 'result', id: message.id, probabilities }),
    (error: Error) => post({ type: 'error', id: message.id, unavailable: error instanceof ImageModerationUnavailableError, message: error.message }),
  );
});
