/** Messages between WorkerImageGuardrail and its worker threads. */
export interface ToNsfwWorker {
  id: number;
  /** The image's bytes, in a buffer of their own that the message transfers (not copies). */
  image: Uint8Array;
}

export type FromNsfwWorker =
  | { type: 'ready' }
  | { type: 'load-failed'; message: string }
  | { type: 'result'; id: number; probabilities: number[] }
  /** `unavailable`: the classifier could not run (an ImageModerationUnavailableError); otherwise the image was at fault. */
  | { type: 'error'; id: number; unavailable: boolean; message: string };
