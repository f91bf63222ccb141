import { BaseLayer, heNormal, type ForwardRecord, type TrainableLayer, type ProjectionMode } from './layer.js';
import { channelSum } from '../ops/channel_sum.js';
import { dense, denseBackwardInput, denseBackwardWeight, denseChunkRows } from '../ops/dense.js';
import { activationBackward } from '../ops/activation.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Runtime } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { ShapeError } from '../gpu/errors.js';
import { weightCount, weightSlice, type Weights } from '../ops/fill.js';

export interface DenseOptions {
  name?: string;
  units: number;
  activation?: 'none' | 'relu';
  /** [units, inFeatures] row-major (PyTorch Linear / ONNX Gemm transB layout). Omitted: He-normal from `seed`. */
  kernel?: Weights;
  bias?: Weights;
  useBias?: boolean;
  seed?: number;
}

/**
 * Forward: y = W x + b (+ ReLU). Backward: the ReLU rule if fused, then W^T g with the same weights.
 * A kernel larger than one storage binding (rt.maxBindingSize) is kept as row
 * chunks (see ops/dense.ts); parameters() then lists every chunk, then the bias.
 */
export class Dense extends BaseLayer implements TrainableLayer {
  readonly kind = 'Dense';
  kernelShape: number[] = [];
  #kernel: Tensor[] = [];
  #bias: Tensor | null = null;

  constructor(readonly options: DenseOptions) {
    super(options.name);
  }

  build(rt: Runtime, inputShape: readonly number[]): number[] {
    const o = this.options;
    if (inputShape.length !== 1) {
      throw new ShapeError(`${this.name}: Dense needs a flat [features] input, got [${inputShape}] (add a Flatten layer)`);
    }
    const inFeatures = inputShape[0]!;
    this.kernelShape = [o.units, inFeatures];
    const kernel = o.kernel ?? heNormal(o.units * inFeatures, inFeatures, o.seed ?? 1);
    if (weightCount(kernel) !== o.units * inFeatures) {
      throw new ShapeError(`${this.name}: kernel has ${weightCount(kernel)} values, [${this.kernelShape}] needs ${o.units * inFeatures}`);
    }
    const rows = denseChunkRows(rt, o.units, inFeatures, `${this.name}.kernel`);
    this.#kernel = [];
    for (let r0 = 0; r0 < o.units; r0 += rows) {
      const r1 = Math.min(o.units, r0 + rows);
      const data = weightSlice(kernel, r0 * inFeatures, r1 * inFeatures);
      this.#kernel.push(this.upload(rt, [r1 - r0, inFeatures], data, rows < o.units ? `kernel[${r0}:${r1}]` : 'kernel'));
    }
    if (o.useBias !== false) {
      const bias = o.bias ?? new Float32Array(o.units);
      if (weightCount(bias) !== o.units) throw new ShapeError(`${this.name}: bias has ${weightCount(bias)} values, expected ${o.units}`);
      this.#bias = this.upload(rt, [o.units], bias, 'bias');
    }
    return [o.units];
  }

  forward(rec: Recorder, x: Tensor) {
    return { output: dense(rec, x, this.#kernel, this.#bias, { activation: this.options.activation }) };
  }

  backward(rec: Recorder, g: Tensor, fwd: ForwardRecord, mode: ProjectionMode): Tensor {
    const signal = this.#preActivation(rec, g, fwd, mode);
    return denseBackwardInput(rec, signal, this.#kernel);
  }

  parameters(): Tensor[] {
    return this.#bias ? [...this.#kernel, this.#bias] : [...this.#kernel];
  }

  /** The kernel's row chunks [rows_i, in] (one tensor [units, in] unless it is larger than one binding). */
  get kernelChunks(): readonly Tensor[] { return this.#kernel; }

  /** Training: dW = signal^T x ([units, in]), db = the signal summed over the batch. */
  trainBackward(rec: Recorder, g: Tensor, fwd: ForwardRecord, wantInput: boolean) {
    const signal = this.#preActivation(rec, g, fwd, 'gradient');
    const x = fwd.input.reshape([fwd.input.shape[0]!, fwd.input.size / fwd.input.shape[0]!]);
    const grads = denseBackwardWeight(rec, signal, x, this.#kernel);
    if (this.#bias) grads.push(channelSum(rec, signal));
    const dx = wantInput ? denseBackwardInput(rec, signal, this.#kernel) : null;
    return { dx, grads };
  }

  #preActivation(rec: Recorder, g: Tensor, fwd: ForwardRecord, mode: ProjectionMode): Tensor {
    if (this.options.activation !== 'relu') return g;
    return rec.temp(activationBackward(rec, g, fwd.output, { kind: 'relu' }, mode));
  }
}
