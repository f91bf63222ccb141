import { BaseLayer, heNormal, type ForwardRecord, type Layer } from './layer.js';
import { conv2dTranspose, conv2dTransposeOutputShape, type Conv2dTransposeAttrs } from '../ops/conv2d_transpose.js';
import { conv2d, conv2dOutputShape, type Conv2dAttrs } from '../ops/conv2d.js';
import { effectiveKernel, pair, type Padding2d, type Pair } from '../ops/conv_geometry.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Runtime } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { ShapeError, UnsupportedError } from '../gpu/errors.js';
import { weightCount, type Weights } from '../ops/fill.js';

export interface Conv2DTransposeOptions {
  name?: string;
  filters: number;
  kernelSize: Pair;
  stride?: Pair;
  dilation?: Pair;
  /** Pads cropped from the full output (default 'valid'); 'same' gives in * stride. */
  padding?: Padding2d;
  outputPadding?: Pair;
  /** A fixed [OH, OW] (ONNX output_shape; Keras output sizes); overrides `padding`. */
  outputShape?: [number, number];
  groups?: number;
  /** [inChannels, filters/groups, kH, kW] row-major (ONNX ConvTranspose / PyTorch layout). Omitted: He-normal from `seed`. */
  kernel?: Weights;
  /** [filters]; omitted: zeros. `useBias: false` drops it. */
  bias?: Weights;
  useBias?: boolean;
  seed?: number;
}

/**
 * Forward: transposed convolution (Keras Conv2DTranspose, ONNX ConvTranspose).
 * Backward (DeconvNet filter step, and the exact input gradient): the
 * adjoint of a transposed convolution is the plain convolution with the same
 * weights, stride and dilation, its pads being the crop of the forward pass.
 * As for Conv2D, the bias plays no part in the backward signal.
 */
export class Conv2DTranspose extends BaseLayer implements Layer {
  readonly kind = 'Conv2DTranspose';
  readonly attrs: Conv2dTransposeAttrs;
  kernelShape: number[] = [];
  #kernel!: Tensor;
  #bias: Tensor | null = null;
  #backwardAttrs!: Conv2dAttrs;

  constructor(readonly options: Conv2DTransposeOptions) {
    super(options.name);
    this.attrs = {
      stride: options.stride, dilation: options.dilation, padding: options.padding,
      outputPadding: options.outputPadding, outputShape: options.outputShape, groups: options.groups,
    };
  }

  build(rt: Runtime, inputShape: readonly number[]): number[] {
    const o = this.options;
    if (inputShape.length !== 3) throw new ShapeError(`${this.name}: Conv2DTranspose needs a [C, H, W] input, got [${inputShape}]`);
    const [kH, kW] = pair(o.kernelSize, 1);
    const groups = o.groups ?? 1;
    const inC = inputShape[0]!;
    if (!Number.isInteger(o.filters) || o.filters < 1 || o.filters % groups !== 0) {
      throw new ShapeError(`${this.name}: filters ${o.filters} must be a positive multiple of groups=${groups}`);
    }
    this.kernelShape = [inC, o.filters / groups, kH, kW];
    const outShape = conv2dTransposeOutputShape([1, ...inputShape], this.kernelShape, this.attrs).slice(1);
    this.#backwardAttrs = this.#adjointAttrs(inputShape, outShape, kH, kW, groups);
    const count = this.kernelShape.reduce((a, b) => a * b, 1);
    const kernel = o.kernel ?? heNormal(count, count / inC, o.seed ?? 1);
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

  /**
   * The conv2d that maps an output-shaped signal back to the input shape.
   * Its leading pads are the forward crop; trailing pads are whatever the
   * forward cropped at the end, or 0 where the forward output reaches past
   * the full one (those positions never saw the input). Checked here, once,
   * so a geometry this cannot invert is refused at build time, not mid-projection.
   */
  #adjointAttrs(inputShape: readonly number[], outShape: readonly number[], kH: number, kW: number, groups: number): Conv2dAttrs {
    const stride = pair(this.options.stride, 1), dilation = pair(this.options.dilation, 1);
    const outPad = pair(this.options.outputPadding, 0);
    const begin = (a: 0 | 1, k: number): number => {
      const full = (inputShape[a + 1]! - 1) * stride[a] + effectiveKernel(k, dilation[a]) + outPad[a];
      const p = this.options.padding;
      if (this.options.outputShape || p === 'same') return Math.floor(Math.max(full - outShape[a + 1]!, 0) / 2);
      if (p === undefined || p === 'valid') return 0;
      return p[a]!;
    };
    const pads = [0, 1].map((a) => {
      const k = a === 0 ? kH : kW;
      const b = begin(a as 0 | 1, k);
      const end = (inputShape[a + 1]! - 1) * stride[a]! + effectiveKernel(k, dilation[a]!) - b - outShape[a + 1]!;
      return [b, Math.max(end, 0)];
    });
    const attrs: Conv2dAttrs = { stride, dilation, groups, padding: [pads[0]![0]!, pads[1]![0]!, pads[0]![1]!, pads[1]![1]!] };
    const back = conv2dOutputShape([1, ...outShape], this.kernelShape, attrs).slice(1);
    if (back.join() !== inputShape.join()) {
      throw new UnsupportedError(`${this.name}: Conv2DTranspose output [${outShape}] reaches a stride or more past the full output; its backward pass cannot map it back to [${inputShape}]`);
    }
    return attrs;
  }

  /** The filters on the GPU, [inChannels, filters/groups, kH, kW]. */
  get kernel(): Tensor { return this.#kernel; }

  forward(rec: Recorder, x: Tensor) {
    return { output: conv2dTranspose(rec, x, this.#kernel, this.#bias, this.attrs) };
  }

  backward(rec: Recorder, g: Tensor, _fwd: ForwardRecord): Tensor {
    return conv2d(rec, g, this.#kernel, null, this.#backwardAttrs);
  }
}
