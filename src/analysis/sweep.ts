// The loop the perturbation analyses share (occlusion, invariance,
// correspondence): forward a perturbed batch; record its reductions and the
// next batch's perturbed copies in one submit; release the batch; pace the
// GPU; report progress. The caller records the first batch (with its own
// first submit) and reads the results once the sweep is done.
import type { Model, ForwardResult } from '../model/model.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Tensor } from '../gpu/tensor.js';
import type { Runtime } from '../gpu/runtime.js';
import { throwIfAborted } from '../util/progress.js';
import { gpuPacer } from './pacing.js';

export interface Sweep {
  /** Units of work in all (positions, transforms, mask sets). */
  total: number;
  /** The perturbed batch of the first units; the sweep releases it. */
  firstBatch: Tensor;
  /** How many units a perturbed batch covers. */
  unitsOf(batch: Tensor): number;
  /** The name of the submit for units first..last. */
  label(first: number, last: number): string;
  /** Records the reductions of the forward of units first..first+n-1. */
  reduce(rec: Recorder, fwd: ForwardResult, first: number, n: number): void;
  /** Records the perturbed batch that starts at unit `first` (called while units remain). */
  perturb(rec: Recorder, first: number): Tensor;
  /** Called after each batch with the units it covered, e.g. to report progress. */
  done(n: number): void;
  signal?: AbortSignal | undefined;
}

/**
 * Runs the sweep batch by batch, at most two batches ahead of the GPU
 * (gpuPacer). Every batch and forward it holds is released whether it ends,
 * fails or is aborted (AbortError before each batch).
 */
export async function sweep(model: Model, s: Sweep): Promise<void> {
  const rt = model.runtime;
  const pacer = gpuPacer(rt.device);
  const held: Array<{ release(): void }> = [s.firstBatch];
  let batch = s.firstBatch;
  try {
    for (let first = 0; first < s.total;) {
      throwIfAborted(s.signal);
      const x = batch;
      const n = s.unitsOf(x);
      const fwd = await model.forward(x);
      held.push(fwd);
      const next = first + n;
      await rt.run(s.label(first, next - 1), (rec) => {
        s.reduce(rec, fwd, first, n);
        if (next < s.total) held.push(batch = s.perturb(rec, next));
      });
      fwd.release();
      x.release();
      first = next;
      await pacer.submitted();
      s.done(n);
    }
  } finally {
    for (const t of held) t.release();
  }
}

export interface RecordedSweep {
  /** Units of work in all. */
  total: number;
  /** Units per batch (the last batch takes what is left). */
  batchSize: number;
  /** The name of the submit for units first..last. */
  label(first: number, last: number): string;
  /** Records everything of units first..first+n-1 (the perturbed forward and its reductions): one submit. */
  record(rec: Recorder, first: number, n: number): void;
  /** Called after each batch with the units it covered, e.g. to report progress. */
  done(n: number): void;
  signal?: AbortSignal | undefined;
}

/**
 * A sweep whose batches are recorded whole, one submit each (incremental
 * occlusion builds its perturbed values inside the forward), paced like
 * sweep(); what a batch records is released after its submit.
 */
export async function recordedSweep(rt: Runtime, s: RecordedSweep): Promise<void> {
  const pacer = gpuPacer(rt.device);
  for (let first = 0; first < s.total;) {
    throwIfAborted(s.signal);
    const n = Math.min(s.batchSize, s.total - first);
    await rt.run(s.label(first, first + n - 1), (rec) => s.record(rec, first, n));
    first += n;
    await pacer.submitted();
    s.done(n);
  }
}
