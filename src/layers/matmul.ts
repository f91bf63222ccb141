import { BaseLayer, type MergeForwardRecord, type MergeLayer } from './layer.js';
import { matmul } from '../ops/matmul.js';
import { add, reduceToShape } from '../ops/elementwise.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Runtime } from '../gpu/runtime.js';
import type { Tensor } from '../gpu/tensor.js';
import { ShapeError } from '../gpu/errors.js';

export interface MatMulOptions {
  name?: string;
  transposeA?: boolean;
  transposeB?: boolean;
  /** default 1 */
  alpha?: number;
  /** default 1; scales the optional third input C */
  beta?: number;
}

/**
 * Y = alpha op(A) op(B) (+ beta C): the product of two computed matrices (ONNX
 * Gemm / MatMul whose operands are both activations, e.g. the `mm` and
 * `addmm` exports of models without a batch axis). Each per-image value is
 * one matrix, so the model's batch must be 1. Backward (every mode, the
 * exact gradient): dA = alpha g op(B)^T and dB = alpha op(A)^T g (transposed
 * back where A or B was), and beta g summed down to C's shape.
 */
export class MatMul extends BaseLayer implements MergeLayer {
  readonly kind = 'MatMul';
  readonly merge = true;
  readonly transposeA: boolean;
  readonly transposeB: boolean;
  readonly alpha: number;
  readonly beta: number;

  constructor(options: MatMulOptions = {}) {
    super(options.name);
    this.transposeA = !!options.transposeA;
    this.transposeB = !!options.transposeB;
    this.alpha = options.alpha ?? 1;
    this.beta = options.beta ?? 1;
  }

  build(_rt: Runtime, inputShapes: ReadonlyArray<readonly number[]>): number[] {
    const [a, b, c] = inputShapes;
    if (!a || !b || inputShapes.length > 3 || a.length !== 2 || b.length !== 2) {
      throw new ShapeError(`${this.name}: MatMul takes two 2-D matrices and an optional bias, got [${inputShapes.map((s) => `[${s}]`).join(', ')}]`);
    }
    const [m, ka] = this.transposeA ? [a[1]!, a[0]!] : [a[0]!, a[1]!];
    const [kb, n] = this.transposeB ? [b[1]!, b[0]!] : [b[0]!, b[1]!];
    if (ka !== kb) throw new ShapeError(`${this.name}: inner dimensions differ: A [${a}] gives K=${ka}, B [${b}] gives K=${kb}`);
    if (c && (c.length > 2 || [...Array(2 - c.length).fill(1), ...c].some((d, i) => d !== 1 && d !== [m, n][i]))) {
      throw new ShapeError(`${this.name}: bias [${c}] does not broadcast to the product [${m}, ${n}]`);
    }
    return [m, n];
  }

  /** Views one batch item as a matrix. */
  #matrix(t: Tensor): Tensor {
    if (t.shape[0] !== 1) throw new ShapeError(`${this.name}: MatMul multiplies one matrix per input: the batch must be 1, got ${t.shape[0]}`);
    return t.reshape(t.shape.slice(1));
  }

  forward(rec: Recorder, xs: readonly Tensor[]) {
    const [a, b] = [this.#matrix(xs[0]!), this.#matrix(xs[1]!)];
    const product = matmul(rec, a, b, null, { transposeA: this.transposeA, transposeB: this.transposeB, alpha: this.alpha });
    if (!xs[2] || this.beta === 0) return { output: product.reshape([1, ...product.shape]) };
    const c = xs[2];
    // beta C added by the broadcasting add; beta != 1 needs a scaled copy of C.
    const scaledC = this.beta === 1 ? c : rec.temp(reduceToShape(rec, c, c.shape, this.beta));
    const y = add(rec, product.reshape([1, ...product.shape]), scaledC);
    rec.temp(product);
    return { output: y };
  }

  backward(rec: Recorder, g: Tensor, fwd: MergeForwardRecord): Tensor[] {
    const [a, b] = [this.#matrix(fwd.inputs[0]!), this.#matrix(fwd.inputs[1]!)];
    const gm = this.#matrix(g);
    const { alpha, transposeA: tA, transposeB: tB } = this;
    const da = tA
      ? matmul(rec, b, gm, null, { transposeA: tB, transposeB: true, alpha })
      : matmul(rec, gm, b, null, { transposeB: !tB, alpha });
    const db = tB
      ? matmul(rec, gm, a, null, { transposeA: true, transposeB: tA, alpha })
      : matmul(rec, a, gm, null, { transposeA: !tA, alpha });
    const out = [da.reshape(fwd.inputs[0]!.shape), db.reshape(fwd.inputs[1]!.shape)];
    if (fwd.inputs[2]) {
      const c = fwd.inputs[2];
      out.push(this.beta === 0
        ? rec.runtime.createTensor(c.shape, new Float32Array(c.size), 'f32', `${this.name}: no signal to C (beta = 0)`)
        : reduceToShape(rec, g, c.shape, this.beta));
    }
    return out;
  }
}
