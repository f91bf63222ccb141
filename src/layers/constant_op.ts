import { BaseLayer, type ForwardRecord, type Layer } from './layer.js';
import { binary, broadcastShapes, reduceToShape, type BinaryOp } from '../ops/elementwise.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Runtime } from '../gpu/runtime.js';
import { shapeSize, type Tensor } from '../gpu/tensor.js';
import { ShapeError, OutOfRangeError } from '../gpu/errors.js';
import { isFill, weightCount, type Weights } from '../ops/fill.js';

export interface ConstantOpOptions {
  name?: string;
  op: BinaryOp;
  /** Row-major values of `shape`, or a formula the GPU evaluates (src/ops/fill.ts). */
  constant: Weights;
  /** Broadcast numpy-style against the full input [N, ...]; a leading batch axis, if given, must be 1. */
  shape: number[];
  /** y = c (op) x instead of x (op) c (matters for sub and div). */
  constantFirst?: boolean;
}

/**
 * An element-wise op between the activation and a fixed tensor: the ONNX
 * Add / Sub / Mul / Div whose other operand is an initializer (a bias, a
 * scale, a mean to subtract). Backward (every mode, the exact gradient): g
 * for add and x - c, -g for c - x, g * c for mul, g / c for x / c and
 * -g c / x^2 = -(g / x) y for c / x, each summed over the axes along which x
 * was broadcast against c.
 */
export class ConstantOp extends BaseLayer implements Layer {
  readonly kind = 'ConstantOp';
  readonly op: BinaryOp;
  readonly constantFirst: boolean;
  readonly shape: readonly number[];
  readonly #values: Weights;
  #c: Tensor | null = null;

  constructor(options: ConstantOpOptions) {
    super(options.name);
    const { op, constant, shape } = options;
    if (op !== 'add' && op !== 'sub' && op !== 'mul' && op !== 'div') {
      throw new OutOfRangeError(`${this.name}: ConstantOp op must be 'add', 'sub', 'mul' or 'div', got ${JSON.stringify(op)}`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 1)) {
      throw new ShapeError(`${this.name}: ConstantOp shape must be positive integers, got ${JSON.stringify(shape)}`);
    }
    const valid = constant instanceof Float32Array || isFill(constant);
    if (!valid || weightCount(constant) !== shapeSize(shape)) {
      throw new ShapeError(`${this.name}: ConstantOp constant has ${valid ? weightCount(constant) : 'no'} values, shape [${shape}] needs ${shapeSize(shape)}`);
    }
    this.op = op;
    this.constantFirst = options.constantFirst ?? false;
    this.shape = [...shape];
    this.#values = constant;
  }

  build(rt: Runtime, inputShape: readonly number[]): number[] {
    const full = [1, ...inputShape];
    if (this.shape.length > full.length || (this.shape.length === full.length && this.shape[0] !== 1)) {
      throw new ShapeError(
        `${this.name}: ConstantOp constant [${this.shape}] would broadcast over the batch axis of input [N, ${inputShape}]; it may have at most ${full.length} axes, the first of them 1`);
    }
    let out: number[];
    try {
      out = broadcastShapes(full, this.shape, this.op);
    } catch (e) {
      if (e instanceof ShapeError) throw new ShapeError(`${this.name}: ConstantOp constant [${this.shape}] does not broadcast against input [N, ${inputShape}] (${e.message})`);
      throw e;
    }
    if (this.#c) this.destroy();
    this.#c = this.upload(rt, this.shape, this.#values, 'constant');
    return out.slice(1);
  }

  /** The constant as given: values, or a formula written on the GPU at build. */
  get constant(): Weights { return this.#values; }

  #constant(): Tensor {
    if (!this.#c) throw new ShapeError(`${this.name}: ConstantOp used before build()`);
    return this.#c;
  }

  forward(rec: Recorder, x: Tensor) {
    const c = this.#constant();
    return { output: this.constantFirst ? binary(rec, this.op, c, x) : binary(rec, this.op, x, c) };
  }

  backward(rec: Recorder, g: Tensor, fwd: ForwardRecord): Tensor {
    const c = this.#constant();
    const xShape = fwd.input.shape;
    const reduced = (t: Tensor) => {
      const r = reduceToShape(rec, t, xShape);
      if (r !== t) rec.temp(t);
      return r;
    };
    switch (this.op) {
      case 'add': return reduceToShape(rec, g, xShape);
      case 'sub': return reduceToShape(rec, g, xShape, this.constantFirst ? -1 : 1);
      case 'mul': return reduced(binary(rec, 'mul', g, c));
      case 'div': {
        if (!this.constantFirst) return reduced(binary(rec, 'div', g, c));
        const gOverX = rec.temp(binary(rec, 'div', g, fwd.input));
        return reduced(binary(rec, 'mul', gOverX, fwd.output, -1));
      }
    }
  }

  override destroy(): void {
    super.destroy();
    this.#c = null;
  }
}
