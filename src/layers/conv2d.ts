import { BaseLayer, heNormal, type ForwardRecord, type TrainableLayer, type ProjectionMode } from './layer.js';
import { conv2dBackwardWeight } from '../ops/conv2d_weight_grad.js';
import { channelSum } from '../ops/channel_sum.js';
import { conv2d, conv2dBackwardInput, conv2dOutputShape, type Conv2dAttrs } from '../ops/conv2d.js';
import { activationBackward } from '../ops/activation.js';
import type { Padding2d, Pair } from '../ops/conv_geometry.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Runtime } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { ShapeError } from '../gpu/errors.js';
import { weightCount, type Weights } from '../ops/fill.js';

export interface Conv2DOptions {
  name?: string;
  filters: number;
  kernelSize: Pair;
  stride?: Pair;
  padding?: Padding2d;
  dilation?: Pair;
  groups?: number;
  /** Fused ReLU. */
  activation?: 'none' | 'relu';
  /** [filters, inChannels/groups, kH, kW] row-major (PyTorch/ONNX layout). Omitted: He-normal from `seed`. */
  kernel?: Weights;
  /** [filters]; omitted: zeros. `useBias: false` drops it. */
  bias?: Weights;
  useBias?: boolean;
  seed?: number;
}

/**
 * Forward: convolution (+ bias, + optional fused ReLU).
 * Backward (DeconvNet "filter" step): the ReLU rule if fused, then the
 * transposed convolution with the same filters. The bias is not subtracted:
 * the reconstruction of Zeiler & Fergus, and the gradient, ignore it.
 */
export class Conv2D extends BaseLayer implements TrainableLayer {
  readonly kind = 'Conv2D';
  readonly attrs: Conv2dAttrs;
  kernelShape: number[] = [];
  #kernel!: Tensor;
  #bias: Tensor | null = null;

  constructor(readonly options: Conv2DOptions) {
    super(options.name);
    this.attrs = {
      stride: options.stride, padding: options.padding, dilation: options.dilation,
      groups: options.groups, activation: options.activation,
    };
  }

  build(rt: Runtime, inputShape: readonly number[]): number[] {
    const o = this.options;
    if (inputShape.length !== 3) throw new ShapeError(`${this.name}: Conv2D needs a [C, H, W] input, got [${inputShape}]`);
    const [kH, kW] = typeof o.kernelSize === 'number' ? [o.kernelSize, o.kernelSize] : o.kernelSize;
    const groups = o.groups ?? 1;
    const inC = inputShape[0]!;
    if (inC % groups !== 0) throw new ShapeError(`${this.name}: ${inC} input channels are not divisible by groups=${groups}`);
    this.kernelShape = [o.filters, inC / groups, kH, kW];
    const outShape = conv2dOutputShape([1, ...inputShape], this.kernelShape, this.attrs).slice(1);
    const count = this.kernelShape.reduce((a, b) => a * b, 1);
    const kernel = o.kernel ?? heNormal(count, count / o.filters, o.seed ?? 1);
    if (weightCount(kernel) !== count) {
      throw new ShapeError(`${this.name}: kernel has ${weightCount(kernel)} values, [${this.kernelShape}] needs ${count}`);
    }
    this.#kernel = this.upload(rt, this.kernelShape, kernel, 'kernel');
    if (o.useBias !== false) {
      const bias = o.bias ?? new Float32Array(o.filters);
      if (weightCount(bias) !== o.filters) throw new ShapeError(`${this.name}: bias has ${weightCount(bias)} values, expected ${o.filters}`);
      this.#bias = this.upload(rt, [o.filters], bias, 'bias');
    }
    return outShape;
  }

  /** The filters on the GPU, [filters, inChannels/groups, kH, kW] (e.g. to draw the first layer's filters). */
  get kernel(): Tensor { return this.#kernel; }

  forward(rec: Recorder, x: Tensor) {
    return { output: conv2d(rec, x, this.#kernel, this.#bias, this.attrs) };
  }

  backward(rec: Recorder, g: Tensor, fwd: ForwardRecord, mode: ProjectionMode): Tensor {
    const signal = this.#preActivation(rec, g, fwd, mode);
    return conv2dBackwardInput(rec, signal, this.#kernel, fwd.input.shape, this.attrs);
  }

  parameters(): Tensor[] {
    return this.#bias ? [this.#kernel, this.#bias] : [this.#kernel];
  }

  /** Training: dW = correlation of the input with the signal, db = the signal summed per channel. */
  trainBackward(rec: Recorder, g: Tensor, fwd: ForwardRecord, wantInput: boolean) {
    const signal = this.#preActivation(rec, g, fwd, 'gradient');
    const grads = [conv2dBackwardWeight(rec, fwd.input, signal, this.kernelShape, this.attrs)];
    if (this.#bias) grads.push(channelSum(rec, signal));
    const dx = wantInput ? conv2dBackwardInput(rec, signal, this.#kernel, fwd.input.shape, this.attrs) : null;
    return { dx, grads };
  }

  /** The signal before the fused ReLU (the ReLU rule of `mode`), or g itself. */
  #preActivation(rec: Recorder, g: Tensor, fwd: ForwardRecord, mode: ProjectionMode): Tensor {
    if (this.attrs.activation !== 'relu') return g;
    return rec.temp(activationBackward(rec, g, fwd.output, { kind: 'relu' }, mode));
  }
}
