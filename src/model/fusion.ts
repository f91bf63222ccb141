// Layers a forward records as one pass. A Conv2D read by a 2x2 / stride 2
// MaxPool2D runs both in the GEMM core's epilogue where the conv runs on that
// core anyway (src/ops/conv2d_pool.ts decides at record time, from the chosen
// variant and the shapes). Both nodes keep their outputs: the conv's (the
// DeconvNet's ReLU rule and training read it) and the pool's with its switches.
import type { AnyLayer } from '../layers/layer.js';
import { Conv2D } from '../layers/conv2d.js';
import { MaxPool2D } from '../layers/maxpool2d.js';
import { conv2dMaxPool } from '../ops/conv2d_pool.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Tensor } from '../gpu/tensor.js';

/** Per Conv2D node, the MaxPool2D node that reads it (the first, where several do): the pairs a forward may fuse. */
export function convPoolPairs(layers: readonly AnyLayer[], sources: readonly (readonly number[])[]): Map<number, number> {
  const pairs = new Map<number, number>();
  layers.forEach((layer, node) => {
    const [source, ...more] = sources[node]!;
    if (!(layer instanceof MaxPool2D) || source === undefined || more.length > 0 || source < 0) return;
    if (layers[source] instanceof Conv2D && !pairs.has(source)) pairs.set(source, node);
  });
  return pairs;
}

/** The outputs of a fused conv and pool node, as each layer's forward gives them. */
export interface FusedConvPool {
  conv: { output: Tensor };
  pool: { output: Tensor; switches: Tensor };
}

/** Records `conv` on `x` and `pool` on its output as one pass, or returns null having recorded nothing (record them apart). */
export function recordConvPool(rec: Recorder, conv: Conv2D, pool: MaxPool2D, x: Tensor): FusedConvPool | null {
  const [kernel, bias] = conv.parameters();
  const fused = conv2dMaxPool(rec, x, kernel!, bias ?? null, conv.attrs, pool.attrs);
  return fused && { conv: { output: fused.output }, pool: fused.pooled };
}
