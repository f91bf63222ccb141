// Tuning a whole model: the kernels its forward (and a DeconvNet projection)
// hit, measured on this runtime's device. It lives beside the DeconvNet it
// drives, so src/gpu (the tuner itself) imports nothing above it.
import type { Model } from '../model/model.js';
import { tuneKernels, type TuneOptions, type TuneResult } from '../gpu/tuning.js';
import { createDeconvNet } from './deconvnet.js';

export interface TuneModelOptions extends TuneOptions {
  /**
   * Also tune the kernels of a DeconvNet projection (transposed convolutions,
   * dense backward): from this layer (default: the deepest projectable
   * layer that is not a Softmax), or false for the forward only. `sparse:
   * false` tunes the dense projection's shapes (what a projection of every
   * position, or one whose window covers the map, runs).
   */
  project?: false | { layer: number | string; channel?: number; sparse?: boolean };
}

/**
 * Measures, on this runtime's device, every kernel candidate for every
 * (op, shape) that `model`'s forward at `batch` (and its projection) hits,
 * and keeps the fastest of each (memory; localStorage where opted in).
 * Run it once after building a model; later runs find the choices cached.
 */
export async function tuneModel(model: Model, batch = 1, options: TuneModelOptions = {}): Promise<TuneResult[]> {
  const inputs = model.inputs.map((i) => new Float32Array(batch * i.shape.reduce((a, b) => a * b, 1)).fill(0.5));
  return tuneKernels(model.runtime, async () => {
    const fwd = await model.forward(inputs.length === 1 ? inputs[0]! : inputs);
    try {
      if (options.project === false) return;
      const from = options.project?.layer ?? [...model.info].reverse().find((l) => l.projectable !== false && l.kind !== 'Softmax')?.name;
      if (from === undefined) return;
      const proj = await createDeconvNet(model).project(fwd, { layer: from, channel: options.project?.channel ?? 0, mode: 'deconvnet', ...(options.project?.sparse === false ? { sparse: false } : {}) });
      proj.release();
    } finally {
      fwd.release();
    }
  }, options);
}
