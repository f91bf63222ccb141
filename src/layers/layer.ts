import type { Recorder } from '../gpu/recorder.js';
import type { Runtime } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import type { BackwardRule } from '../ops/activation.js';
import { fillTensor, isFill, type Weights } from '../ops/fill.js';

/** How the DeconvNet passes a signal back through a ReLU (see shaders/activation.ts). */
export type ProjectionMode = BackwardRule;

/** What a layer's backward rule may use from the forward pass of the same image batch. */
export interface ForwardRecord {
  input: Tensor;
  output: Tensor;
  /** Max-pool switches: u32 argmax per output element. */
  switches?: Tensor;
}

/**
 * A layer of a ConvNet: its forward op and, in the same class, its backward
 * rule, which is the DeconvNet step for that layer (unpool for max pooling,
 * transposed convolution for conv, the chosen rectification for ReLU).
 * Shapes exclude the batch dimension.
 */
export interface Layer {
  readonly kind: string;
  name: string;
  /** Validates the input shape and returns the output shape; called once when the model is built. */
  build(rt: Runtime, inputShape: readonly number[]): number[];
  forward(rec: Recorder, x: Tensor): { output: Tensor; switches?: Tensor };
  backward(rec: Recorder, g: Tensor, fwd: ForwardRecord, mode: ProjectionMode): Tensor;
  /** Frees the layer's weights. */
  destroy(): void;
}

/** What a merge node's backward rule may use from the forward pass. */
export interface MergeForwardRecord {
  inputs: readonly Tensor[];
  output: Tensor;
}

/**
 * A node with several inputs (Add, Mul, Concat): the joins of graph models
 * (ResNet's residual add, Inception's concatenation). Its forward op and its
 * DeconvNet/backward rule sit side by side, as for a Layer: the backward rule
 * returns one signal per input (Add passes the reconstruction to every input,
 * Concat splits it). Shapes exclude the batch dimension.
 */
export interface MergeLayer {
  readonly kind: string;
  readonly merge: true;
  name: string;
  /** Validates the input shapes and returns the output shape; called once when the model is built. */
  build(rt: Runtime, inputShapes: ReadonlyArray<readonly number[]>): number[];
  forward(rec: Recorder, xs: readonly Tensor[]): { output: Tensor };
  /**
   * One signal per input, aligned with `fwd.inputs`. A returned tensor may be
   * `g` itself or shared between inputs (Add): the caller releases each
   * distinct buffer once.
   */
  backward(rec: Recorder, g: Tensor, fwd: MergeForwardRecord, mode: ProjectionMode): Tensor[];
  destroy(): void;
}

/** Any node of a model. */
export type AnyLayer = Layer | MergeLayer;

export function isMerge(layer: AnyLayer): layer is MergeLayer {
  return (layer as Partial<MergeLayer>).merge === true;
}

/**
 * A layer with weights that training updates. Its gradient rule sits next to
 * its forward op and DeconvNet rule, in the same class.
 */
export interface TrainableLayer extends Layer {
  /** Weights then bias (when present), each a GPU tensor updated in place. */
  parameters(): Tensor[];
  /**
   * Given dL/d(output): the parameter gradients, aligned with parameters(),
   * and dL/d(input) when `wantInput` (the first layer skips it).
   */
  trainBackward(rec: Recorder, g: Tensor, fwd: ForwardRecord, wantInput: boolean): { dx: Tensor | null; grads: Tensor[] };
}

export function isTrainable(layer: AnyLayer): layer is TrainableLayer {
  return !isMerge(layer) && typeof (layer as Partial<TrainableLayer>).trainBackward === 'function';
}

/** Shared bits of layer classes: a name, and tensors for weights that destroy() frees. */
export abstract class BaseLayer {
  abstract readonly kind: string;
  name: string;
  protected weights: Tensor[] = [];

  constructor(name?: string) {
    this.name = name ?? '';
  }

  /** Stored values are copied to the GPU; a fill formula is evaluated there (src/ops/fill.ts). */
  protected upload(rt: Runtime, shape: readonly number[], data: Weights, what: string): Tensor {
    const label = `${this.name}.${what}`;
    const t = isFill(data) ? fillTensor(rt, shape, data, label) : rt.createTensor(shape, data, 'f32', label);
    this.weights.push(t);
    return t;
  }

  /** How many weights the layer holds (kernel, bias, scales, slopes, constants); 0 once destroyed. */
  get parameterCount(): number {
    return this.weights.reduce((n, w) => n + w.size, 0);
  }

  destroy(): void {
    for (const w of this.weights) w.release();
    this.weights = [];
  }
}

/** Deterministic He-normal initialisation, for layers built without weights (untrained nets, tests). */
export function heNormal(count: number, fanIn: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const uniform = () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
  const std = Math.sqrt(2 / Math.max(fanIn, 1));
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    out[i] = std * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  }
  return out;
}
