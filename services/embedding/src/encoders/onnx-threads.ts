import type { InferenceSession } from 'onnxruntime-node';

/**
 * Session config that stops onnxruntime's idle pool threads from spin-waiting for work, unless
 * `spin` is set. Spinning saves microseconds per operator on an otherwise idle machine, but the
 * embedding service runs several sessions at once (CLIP text + caption per query, image + caption
 * per photo): their spinning threads then take the cores the working ones need. Measured on the
 * 2-core dev machine while shared: both text towers per query p50 54-60 ms spinning vs 14-18 ms
 * not; CLIP image encoding 7-9 vs 20 images/s.
 */
export function threadSpinning(spin: boolean): Pick<InferenceSession.SessionOptions, 'extra'> {
  if (spin) return {};
  return { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } };
}
