// Parameter counts per node, as Keras's summary lists them: every weight a
// layer holds (kernels, biases, PReLU slopes, constants). Batch norm is held
// folded into a per-channel multiplier and offset, so it counts 2 per channel
// where Keras counts 4 (gamma, beta, moving mean and variance).
import type { Model } from './model.js';
import { BaseLayer } from '../layers/layer.js';

/** The number of weights of each node of `model`, in `model.info` order. */
export function parameterCounts(model: Model): number[] {
  return model.layers.map((layer) => (layer instanceof BaseLayer ? layer.parameterCount : 0));
}
