import { BaseLayer, type MergeForwardRecord, type MergeLayer } from './layer.js';
import { matmul } from '../ops/matmul.js';
import { add, reduceToShape } from '../ops/elementwise.js';
import { concat, split } from '../ops/concat.js';
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
 * Gemm / MatMul whose operands are both activations: the `mm` and `addmm`
 * exports of models without a batch axis, or a per-image product such as
 * attention's [N, M, K] x [N, K, P]). Each per-image value is one matrix;
 * image i's product uses image i's A and B (a batch above 1 runs one GEMM
 * per image on copies of its rows). Backward (every mode, the exact
 * gradient): dA = alpha g op(B)^T and dB = alpha op(A)^T g (transposed back
 * where A or B was), and beta g summed down to C's shape.
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

  /** The batch items of `t` as matrices: a view for batch 1, else per-item copies freed after the submit. */
  #matrices(rec: Recorder, t: Tensor): Tensor[] {
    const n = t.shape[0]!;
    if (n === 1) return [t.reshape(t.shape.slice(1))];
    return split(rec, t, 0, new Array<number>(n).fill(1)).map((item) => rec.temp(item).reshape(item.shape.slice(1)));
  }

  /** One matrix per batch item, stacked into [N, ...] (the products are freed after the submit). */
  #stack(rec: Recorder, items: Tensor[]): Tensor {
    if (items.length === 1) return items[0]!.reshape([1, ...items[0]!.shape]);
    return concat(rec, items.map((m) => rec.temp(m).reshape([1, ...m.shape])), 0);
  }

  forward(rec: Recorder, xs: readonly Tensor[]) {
    const [as, bs] = [this.#matrices(rec, xs[0]!), this.#matrices(rec, xs[1]!)];
    if (as.length !== bs.length) throw new ShapeError(`${this.name}: A has a batch of ${as.length}, B of ${bs.length}`);
    const products = as.map((a, i) => matmul(rec, a, bs[i]!, null, { transposeA: this.transposeA, transposeB: this.transposeB, alpha: this.alpha }));
    const product = this.#stack(rec, products);
    if (!xs[2] || this.beta === 0) return { output: product };
    const c = xs[2];
    // beta C added by the broadcasting add; beta != 1 needs a scaled copy of C.
    const scaledC = this.beta === 1 ? c : rec.temp(reduceToShape(rec, c, c.shape, this.beta));
    const y = add(rec, product, scaledC);
    rec.temp(product);
    return { output: y };
  }

  backward(rec: Recorder, g: Tensor, fwd: MergeForwardRecord): Tensor[] {
    const [as, bs, gs] = [this.#matrices(rec, fwd.inputs[0]!), this.#matrices(rec, fwd.inputs[1]!), this.#matrices(rec, g)];
    const { alpha, transposeA: tA, transposeB: tB } = this;
    const da = gs.map((gm, i) => (tA
      ? matmul(rec, bs[i]!, gm, null, { transposeA: tB, transposeB: true, alpha })
      : matmul(rec, gm, bs[i]!, null, { transposeB: !tB, alpha })));
    const db = gs.map((gm, i) => (tB
      ? matmul(rec, gm, as[i]!, null, { transposeA: true, transposeB: tA, alpha })
      : matmul(rec, as[i]!, gm, null, { transposeA: !tA, alpha })));
    const out = [this.#stack(rec, da).reshape(fwd.inputs[0]!.shape), this.#stack(rec, db).reshape(fwd.inputs[1]!.shape)];
    if (fwd.inputs[2]) {
      const c = fwd.inputs[2];
      out.push(this.beta === 0
        ? rec.runtime.createTensor(c.shape, new Float32Array(c.size), 'f32', `${this.name}: no signal to C (beta = 0)`)
        : reduceToShape(rec, g, c.shape, this.beta));
    }
    return out;
  }
}
