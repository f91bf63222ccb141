// The dense walk's fused step (docs/fusion.md): a max pooling's unpooling and
// the ReLU rule of the layer below it (a Conv2D with a fused ReLU, or a ReLU
// layer) in one pass, where that layer is read by the pooling alone (so no
// other signal has to be summed in before its rule). That layer's own step
// then skips the rule: a ReLU layer passes the signal on, a Conv2D runs only
// its transposed convolution.
import type { ForwardResult, Model } from '../model/model.js';
import type { ProjectionMode } from '../layers/layer.js';
import { Conv2D } from '../layers/conv2d.js';
import { MaxPool2D } from '../layers/maxpool2d.js';
import { Activation } from '../layers/activation.js';
import { conv2dBackwardInput } from '../ops/conv2d.js';
import { unpoolRectify } from '../ops/window.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Tensor } from '../gpu/tensor.js';

/**
 * Pool node -> the node below it whose ReLU rule its unpooling applies in the
 * same pass. None on CPU adapters (kernelStyle 'direct'): there the unpooling
 * runs one invocation per row (unpool2d's 'row' variant), and the fused pass,
 * one per element, cost more than the rule pass it saves (SwiftShader, Tiny
 * VGG dense projection; docs/fusion.md).
 */
export function rulesBelowPools(model: Model): Map<number, number> {
  if (model.runtime.kernelStyle === 'direct') return new Map();
  const readers = new Map<number, number>();
  for (const sources of model.sources) for (const s of sources) readers.set(s, (readers.get(s) ?? 0) + 1);
  const pairs = new Map<number, number>();
  model.layers.forEach((layer, node) => {
    const below = model.sources[node]![0]!;
    if (layer instanceof MaxPool2D && below >= 0 && readers.get(below) === 1 && hasReluRule(model.layers[below])) pairs.set(node, below);
  });
  return pairs;
}

function hasReluRule(layer: unknown): boolean {
  return (layer instanceof Conv2D && layer.attrs.activation === 'relu') || (layer instanceof Activation && layer.attrs.kind === 'relu');
}

/** Pool node `pool`'s unpooling of `g` with node `below`'s ReLU rule of `mode`: one pass. */
export function unpoolWithRule(rec: Recorder, fwd: ForwardResult, pool: number, below: number, g: Tensor, mode: ProjectionMode): Tensor {
  const layer = fwd.model.layers[pool] as MaxPool2D;
  return unpoolRectify(rec, g, fwd.switches[pool]!, layer.attrs, fwd.activations[below]!, mode);
}

/** Node `node`'s backward step on a signal its ReLU rule was already applied to. */
export function backwardAfterRule(rec: Recorder, fwd: ForwardResult, node: number, g: Tensor): Tensor {
  const layer = fwd.model.layers[node];
  if (layer instanceof Conv2D) return conv2dBackwardInput(rec, g, layer.kernel, fwd.inputOf(node).shape, layer.attrs);
  return g;
}
