// The MatMul join (a product of two computed matrices, ONNX Gemm/MatMul
// without weights): forward vs the float64 Gemm reference, and its backward
// rule checked as the adjoint of the forward's linearisation:
// <g, dY> = <dA, vA> + <dB, vB> + <dC, vC> for Y's derivative along (vA, vB, vC).
import { describe, expect, it } from 'vitest';
import { MatMul } from '../src/layers/matmul.js';
import type { MergeLayer } from '../src/layers/layer.js';
import { getRuntime, expectClose } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { gemmRef } from './ref/matmul.js';
import { dot } from './ref/pool.js';

const CASES = [
  { tA: false, tB: false, alpha: 1, beta: 1, a: [3, 5], b: [5, 4], c: [4] },
  { tA: true, tB: false, alpha: 2, beta: 0.5, a: [5, 3], b: [5, 4], c: [3, 4] },
  { tA: false, tB: true, alpha: -1, beta: 1, a: [3, 5], b: [4, 5], c: [3, 1] },
  { tA: true, tB: true, alpha: 0.5, beta: 1, a: [5, 3], b: [4, 5], c: null },
];

describe('MatMul join', () => {
  for (const k of CASES) {
    it(`tA=${k.tA} tB=${k.tB} alpha=${k.alpha} beta=${k.beta} bias [${k.c ?? '-'}]`, async () => {
      const rt = await getRuntime();
      const layer: MergeLayer = new MatMul({ name: 'mm', transposeA: k.tA, transposeB: k.tB, alpha: k.alpha, beta: k.beta });
      const shapes = [k.a, k.b, ...(k.c ? [k.c] : [])];
      const out = layer.build(rt, shapes);
      const r = makeRandom(31);
      const data = shapes.map((s) => r.array(s.reduce((p, q) => p * q, 1), -1, 1));
      const { y, M, N } = gemmRef(data[0]!, k.a, data[1]!, k.b, k.c ? { data: data[2]!, shape: k.c } : null, { transposeA: k.tA, transposeB: k.tB, alpha: k.alpha, beta: k.beta });
      expect(out).toEqual([M, N]);
      const xs = shapes.map((s, i) => rt.createTensor([1, ...s], data[i]));
      const gData = r.array(M * N, -1, 1);
      const g = rt.createTensor([1, M, N], gData);
      const { output, grads } = await rt.run('matmul layer', (rec) => {
        const { output } = layer.forward(rec, xs);
        return { output, grads: layer.backward(rec, g, { inputs: xs, output }, 'gradient') };
      });
      expectClose(await output.read(), y, 'forward');
      // Directional derivative along random v: linear in A and B separately (product rule), linear in C.
      const v = shapes.map((s) => r.array(s.reduce((p, q) => p * q, 1), -1, 1));
      const noBias = (i: number) => gemmRef(i === 0 ? v[0]! : data[0]!, k.a, i === 1 ? v[1]! : data[1]!, k.b, null, { transposeA: k.tA, transposeB: k.tB, alpha: k.alpha }).y;
      let lhs = dot(gData, noBias(0)) + dot(gData, noBias(1));
      if (k.c) lhs += dot(gData, gemmRef(new Float64Array(k.a[0]! * k.a[1]!), k.a, data[1]!, k.b, { data: v[2]!, shape: k.c }, { transposeA: k.tA, transposeB: k.tB, beta: k.beta }).y);
      let rhs = 0;
      for (const [i, t] of grads.entries()) {
        expect(t.shape).toEqual([1, ...shapes[i]!]);
        rhs += dot(await t.read(), v[i]!);
      }
      expect(Math.abs(lhs - rhs)).toBeLessThan(1e-4 * Math.max(1, Math.abs(lhs)));
      const seen = new Set<GPUBuffer>();
      for (const t of [output, ...grads, ...xs, g]) if (!seen.has(t.buffer)) { seen.add(t.buffer); t.release(); }
      layer.destroy();
    });
  }

  it('refuses mismatched shapes and batches (batches above 1: test/import_onnx_matmul.test.ts)', async () => {
    const rt = await getRuntime();
    const layer = new MatMul({ name: 'mm' });
    expect(() => layer.build(rt, [[2, 3], [4, 5]])).toThrow(/mm: inner dimensions differ: A \[2,3\] gives K=3, B \[4,5\] gives K=4/);
    expect(() => layer.build(rt, [[2, 3], [3, 5], [4, 5]])).toThrow(/bias \[4,5\] does not broadcast to the product \[2, 5\]/);
    layer.build(rt, [[2, 3], [3, 5]]);
    const a = rt.createTensor([2, 2, 3]), b = rt.createTensor([3, 3, 5]);
    await expect(rt.run('batch 2 and 3', (rec) => layer.forward(rec, [a, b]).output)).rejects.toThrow(/mm: A has a batch of 2, B of 3/);
    a.release(); b.release();
  });
});
