// ONNX MatMul of two computed values at batch 2 and 3: a product per image
// ([N, M, K] x [N, K, P], as attention's scores are), imported as a MatMul
// join and compared with float64 products; its backward (dA = g B^T,
// dB = A^T g per image, transposed where an operand was) against float64 too.
import { describe, expect, it } from 'vitest';
import { importOnnx, UnsupportedError } from '../src/index.js';
import { MatMul } from '../src/layers/matmul.js';
import { getRuntime, expectClose } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { GraphWriter } from './onnx/light.js';

/** Per image n: op(A_n) [M, K] times op(B_n) [K, P] times alpha, float64. */
function batchedProduct(a: ArrayLike<number>, b: ArrayLike<number>, n: number, m: number, k: number, p: number, tA = false, tB = false, alpha = 1): Float64Array {
  const out = new Float64Array(n * m * p);
  const A = (i: number, r: number, c: number) => a[i * m * k + (tA ? c * m + r : r * k + c)]!;
  const B = (i: number, r: number, c: number) => b[i * k * p + (tB ? c * k + r : r * p + c)]!;
  for (let i = 0; i < n; i++) for (let r = 0; r < m; r++) for (let c = 0; c < p; c++) {
    let s = 0;
    for (let q = 0; q < k; q++) s += A(i, r, q) * B(i, q, c);
    out[(i * m + r) * p + c] = alpha * s;
  }
  return out;
}

/** [N, R, C] -> [N, C, R] */
function transposeItems(x: ArrayLike<number>, n: number, r: number, c: number): Float64Array {
  const out = new Float64Array(n * r * c);
  for (let i = 0; i < n; i++) for (let y = 0; y < r; y++) for (let z = 0; z < c; z++) out[(i * c + z) * r + y] = x[(i * r + y) * c + z]!;
  return out;
}

describe('ONNX MatMul joins at batch > 1', () => {
  for (const batch of [2, 3]) {
    it(`two fed stacks [${batch}, 4, 5] x [${batch}, 5, 3]: one product per image vs float64`, async () => {
      const rt = await getRuntime();
      const g = new GraphWriter();
      g.node('MatMul', ['a', 'b'], {}, 'y');
      const { model, batchAxis } = await importOnnx(rt, g.model({ a: [batch, 4, 5], b: [batch, 5, 3] }, ['y']));
      expect(batchAxis).toBe(true);
      const rnd = makeRandom(batch);
      const a = rnd.array(batch * 20, -1, 1), b = rnd.array(batch * 15, -1, 1);
      const fwd = await model.forward([a, b]);
      expect(fwd.output.shape).toEqual([batch, 4, 3]);
      expectClose(await fwd.readOutput(), batchedProduct(a, b, batch, 4, 5, 3), 'per-image products');
      fwd.release();
      model.destroy();
    });

    it(`self-attention scores x x^T at batch ${batch} (B computed from A by Transpose) vs float64`, async () => {
      const rt = await getRuntime();
      const g = new GraphWriter();
      const xt = g.node('Transpose', ['x'], { perm: [0, 2, 1] }, 'xt');
      g.node('MatMul', ['x', xt], {}, 'scores');
      const { model } = await importOnnx(rt, g.model({ x: [batch, 4, 6] }, ['scores']));
      const x = makeRandom(10 + batch).array(batch * 24, -1, 1);
      const fwd = await model.forward(x);
      expectClose(await fwd.readOutput(), batchedProduct(x, transposeItems(x, batch, 4, 6), batch, 4, 6, 4), 'scores');
      fwd.release();
      model.destroy();
    });
  }

  for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    it(`the layer's backward at batch 3 (transposeA ${tA}, transposeB ${tB}, alpha 0.5): dA and dB per image vs float64`, async () => {
      const rt = await getRuntime();
      const [N, M, K, P] = [3, 4, 5, 2];
      const aShape = tA ? [K, M] : [M, K], bShape = tB ? [P, K] : [K, P];
      const layer = new MatMul({ name: 'mm', transposeA: tA, transposeB: tB, alpha: 0.5 });
      expect(layer.build(rt, [aShape, bShape])).toEqual([M, P]);
      const rnd = makeRandom(20);
      const aData = rnd.array(N * M * K, -1, 1), bData = rnd.array(N * K * P, -1, 1), gData = rnd.array(N * M * P, -1, 1);
      const a = rt.createTensor([N, ...aShape], aData), b = rt.createTensor([N, ...bShape], bData), g = rt.createTensor([N, M, P], gData);
      const { y, grads } = await rt.run('matmul batch', (rec) => {
        const y = layer.forward(rec, [a, b]).output;
        return { y, grads: layer.backward(rec, g, { inputs: [a, b], output: y }) };
      });
      expectClose(await y.read(), batchedProduct(aData, bData, N, M, K, P, tA, tB, 0.5), 'forward');
      // dA = alpha g op(B)^T as [M, K], stored transposed when A was; dB = alpha op(A)^T g as [K, P], likewise.
      const opB = tB ? transposeItems(bData, N, P, K) : Float64Array.from(bData);
      const opA = tA ? transposeItems(aData, N, K, M) : Float64Array.from(aData);
      const dA = batchedProduct(gData, transposeItems(opB, N, K, P), N, M, P, K, false, false, 0.5);
      const dB = batchedProduct(transposeItems(opA, N, M, K), gData, N, K, M, P, false, false, 0.5);
      expectClose(await grads[0]!.read(), tA ? transposeItems(dA, N, M, K) : dA, 'dA');
      expectClose(await grads[1]!.read(), tB ? transposeItems(dB, N, K, P) : dB, 'dB');
      for (const t of [a, b, g, y, ...grads]) t.release();
    });
  }

  it('refuses products of more than one matrix per image, naming the shapes', async () => {
    const rt = await getRuntime();
    const g = new GraphWriter();
    g.node('MatMul', ['a', 'b'], {}, 'y');
    await expect(importOnnx(rt, g.model({ a: [2, 3, 4, 5], b: [2, 3, 5, 2] }, ['y']))).rejects.toThrow(UnsupportedError);
    await expect(importOnnx(rt, g.model({ a: [2, 3, 4, 5], b: [2, 3, 5, 2] }, ['y']))).rejects.toThrow(/\[N, 3,4,5\] and \[N, 3,5,2\]: only one matrix per image/);
  });
});
