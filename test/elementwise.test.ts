import { describe, expect, it } from 'vitest';
import { binary, binaryBackward, reduceToShape, add, sub, mul, div, type BinaryOp } from '../src/ops/elementwise.js';
import { sumN } from '../src/ops/sum_n.js';
import { ShapeError, UnsupportedError } from '../src/gpu/errors.js';
import { getRuntime, expectClose, counted } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { binaryRef, binaryBackwardRef, binaryJvpRef, reduceRef, sumRef, broadcastShapeRef } from './ref/elementwise.js';
import { dot } from './ref/pool.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const OPS: BinaryOp[] = ['add', 'sub', 'mul', 'div'];

const CASES: Array<[string, number[], number[]]> = [
  ['same shape, more than a workgroup', [2, 3, 17, 15], [2, 3, 17, 15]],
  ['scalar of shape [1]', [2, 3, 5, 7], [1]],
  ['rank-0 scalar', [3, 7, 13], []],
  ['per-channel [1, C, 1, 1]', [2, 5, 6, 7], [1, 5, 1, 1]],
  ['rank mismatch [H, W]', [2, 3, 6, 7], [6, 7]],
  ['rank mismatch, last axis only', [3, 4, 23], [23]],
  ['both sides broadcast [2,1,4] vs [3,1]', [2, 1, 4], [3, 1]],
  ['broadcast on the left operand', [1, 3, 1, 1], [2, 3, 9, 11]],
  ['rank 6, both sides broadcast', [2, 1, 3, 1, 2, 3], [2, 1, 4, 2, 1]],
  ['per-row [N, 1] against [N, F]', [9, 1], [9, 40]],
];

describe('binary ops with broadcasting', () => {
  for (const [what, aShape, bShape] of CASES) {
    it(`${what}: [${aShape}] op [${bShape}], forward, backward and adjoint`, async () => {
      const rt = await getRuntime();
      const outShape = broadcastShapeRef(aShape, bShape);
      const rnd = makeRandom(size(aShape) * 31 + size(bShape));
      const aData = rnd.array(size(aShape), -2, 2);
      // Divisors kept away from 0 so div's gradient stays well conditioned.
      const bData = rnd.array(size(bShape), 0.5, 2).map((v, i) => (i % 3 === 1 ? -v : v));
      const gData = rnd.array(size(outShape), -1, 1);
      const a = rt.createTensor(aShape, aData), b = rt.createTensor(bShape, bData), g = rt.createTensor(outShape, gData);
      for (const op of OPS) {
        const { y, da, db } = await rt.run(op, (rec) => {
          const y = binary(rec, op, a, b);
          const [da, db] = binaryBackward(rec, op, g, a, b, y);
          return { y, da, db };
        });
        expect(y.shape, op).toEqual(outShape);
        expect(da.shape, `${op} da`).toEqual(aShape);
        expect(db.shape, `${op} db`).toEqual(bShape);
        const [yData, daData, dbData] = await Promise.all([y.read(), da.read(), db.read()]);
        expectClose(yData, binaryRef(op, aData, aShape, bData, bShape).y, `${op} forward`);
        const [daRef, dbRef] = binaryBackwardRef(op, gData, aData, aShape, bData, bShape);
        expectClose(daData, daRef, `${op} d/da`);
        expectClose(dbData, dbRef, `${op} d/db`);
        // Adjoint: <g, J v> = <J^T g, v> for a random direction v per operand.
        for (const [which, shape, grad] of [['a', aShape, daData], ['b', bShape, dbData]] as const) {
          const v = makeRandom(7 + size(shape)).array(size(shape), -1, 1);
          const lhs = dot(gData, binaryJvpRef(op, which, v, aData, aShape, bData, bShape));
          const rhs = dot(grad, v);
          expect(Math.abs(lhs - rhs), `${op} adjoint d/d${which}: ${lhs} vs ${rhs}`).toBeLessThanOrEqual(1e-5 * (Math.abs(lhs) + 1));
        }
        for (const t of new Set([y, da, db])) if (t !== g) t.release();
      }
      for (const t of [a, b, g]) t.release();
    });
  }

  it('add, sub, mul, div by hand, scalar first', async () => {
    const rt = await getRuntime();
    const s = rt.createTensor([1], Float32Array.from([6]));
    const x = rt.createTensor([2, 2], Float32Array.from([1, 2, 3, -4]));
    const out = await rt.run('by hand', (rec) => [add(rec, s, x), sub(rec, s, x), mul(rec, s, x), div(rec, s, x)]);
    const read = await Promise.all(out.map((t) => t.read()));
    expect(read.map((r) => Array.from(r))).toEqual([[7, 8, 9, 2], [5, 4, 3, 10], [6, 12, 18, -24], [6, 3, 2, -1.5]]);
    for (const t of [s, x, ...out]) t.release();
  });

  it('same-shape add is one pass and its backward hands g back untouched', async () => {
    const rt = await getRuntime();
    const a = rt.createTensor([3, 100], new Float32Array(300).fill(1));
    const b = rt.createTensor([3, 100], new Float32Array(300).fill(2));
    const { result, passes } = await counted(rt, 'add', (rec) => {
      const y = add(rec, a, b);
      return { y, grads: binaryBackward(rec, 'add', y, a, b) };
    });
    expect(passes).toBe(1);
    expect(result.grads[0]).toBe(result.y);
    expect(result.grads[1]).toBe(result.y);
    for (const t of [a, b, result.y]) t.release();
  });
});

describe('reduceToShape', () => {
  const cases: Array<[number[], number[]]> = [
    [[2, 3, 17, 15], [1, 3, 1, 1]],
    [[2, 3, 17, 15], [3, 1, 1]],
    [[2, 3, 17, 15], [17, 15]],
    [[2, 3, 17, 15], [1]],
    [[2, 3, 17, 15], []],
    [[4, 5, 6], [4, 1, 6]],
    [[2, 3, 2, 4, 3, 2], [3, 1, 4, 1, 2]],
    [[300, 3], [1, 3]],
  ];
  for (const [gShape, shape] of cases) {
    it(`[${gShape}] -> [${shape}], and its adjoint (broadcast)`, async () => {
      const rt = await getRuntime();
      const gData = makeRandom(size(gShape)).array(size(gShape), -1, 1);
      const g = rt.createTensor(gShape, gData);
      const r = await rt.run('reduce', (rec) => reduceToShape(rec, g, shape));
      expect(r.shape).toEqual(shape);
      const rData = await r.read();
      expectClose(rData, reduceRef(gData, gShape, shape), 'reduceToShape');
      const v = makeRandom(3).array(size(shape), -1, 1);
      const broadcastV = binaryRef('add', v, shape, new Float32Array(size(gShape)), gShape).y;
      const lhs = dot(gData, broadcastV);
      const rhs = dot(rData, v);
      expect(Math.abs(lhs - rhs), `${lhs} vs ${rhs}`).toBeLessThanOrEqual(1e-5 * (Math.abs(lhs) + 1));
      g.release(); r.release();
    });
  }

  it('returns g itself for equal shapes, and a scaled copy with scale', async () => {
    const rt = await getRuntime();
    const g = rt.createTensor([2, 3], Float32Array.from([1, 2, 3, 4, 5, 6]));
    const { same, scaled } = await rt.run('reduce', (rec) => ({ same: reduceToShape(rec, g, [2, 3]), scaled: reduceToShape(rec, g, [2, 3], -2) }));
    expect(same).toBe(g);
    expect(Array.from(await scaled.read())).toEqual([-2, -4, -6, -8, -10, -12]);
    g.release(); scaled.release();
  });
});

describe('sumN', () => {
  for (const k of [1, 2, 3, 7, 8, 15]) {
    it(`${k} inputs of [3, 5, 19]`, async () => {
      const rt = await getRuntime();
      const shape = [3, 5, 19];
      const data = Array.from({ length: k }, (_, j) => makeRandom(100 + j).array(size(shape), -1, 1));
      const xs = data.map((d) => rt.createTensor(shape, d));
      const { result: y, passes } = await counted(rt, 'sumN', (rec) => sumN(rec, xs));
      expect(y.shape).toEqual(shape);
      expect(xs.some((x) => x.buffer === y.buffer)).toBe(false);
      if (k <= 7) expect(passes).toBe(1);
      expectClose(await y.read(), sumRef(data), `sumN of ${k}`);
      for (const t of [...xs, y]) t.release();
    });
  }

  it('the same tensor twice doubles it', async () => {
    const rt = await getRuntime();
    const x = rt.createTensor([5], Float32Array.from([1, -2, 3, 0.5, 8]));
    const y = await rt.run('sumN', (rec) => sumN(rec, [x, x]));
    expect(Array.from(await y.read())).toEqual([2, -4, 6, 1, 16]);
    x.release(); y.release();
  });
});

describe('element-wise errors', () => {
  const zeros = async (shape: number[]) => (await getRuntime()).createTensor(shape, new Float32Array(size(shape)));

  it('shapes that do not broadcast', async () => {
    const rt = await getRuntime();
    const a = await zeros([2, 3]), b = await zeros([4]);
    const attempt = rt.run('bad add', (rec) => add(rec, a, b));
    await expect(attempt).rejects.toThrow(ShapeError);
    await expect(attempt).rejects.toThrow(/add: shapes \[2,3\] and \[4\] do not broadcast \(axis -1: 3 vs 4\)/);
    a.release(); b.release();
  });

  it('rank over 6', async () => {
    const rt = await getRuntime();
    const a = await zeros([1, 1, 1, 1, 1, 1, 2]), b = await zeros([2]);
    const attempt = rt.run('bad mul', (rec) => mul(rec, a, b));
    await expect(attempt).rejects.toThrow(UnsupportedError);
    await expect(attempt).rejects.toThrow(/mul: first operand \[1,1,1,1,1,1,2\] has rank 7/);
    a.release(); b.release();
  });

  it('sumN of different shapes', async () => {
    const rt = await getRuntime();
    const a = await zeros([2, 3]), b = await zeros([3, 2]);
    const attempt = rt.run('bad sumN', (rec) => sumN(rec, [a, b]));
    await expect(attempt).rejects.toThrow(ShapeError);
    await expect(attempt).rejects.toThrow(/sumN: input 1 has shape \[3,2\], input 0 has \[2,3\]/);
    await expect(rt.run('empty sumN', (rec) => sumN(rec, []))).rejects.toThrow(ShapeError);
    a.release(); b.release();
  });

  it('reduceToShape to a shape that does not broadcast', async () => {
    const rt = await getRuntime();
    const g = await zeros([2, 3, 4]);
    const attempt = rt.run('bad reduce', (rec) => reduceToShape(rec, g, [2, 4]));
    await expect(attempt).rejects.toThrow(ShapeError);
    await expect(attempt).rejects.toThrow(/reduceToShape: \[2,4\] does not broadcast to the signal's shape \[2,3,4\]/);
    await expect(rt.run('bad reduce', (rec) => reduceToShape(rec, g, [1, 2, 3, 4]))).rejects.toThrow(ShapeError);
    g.release();
  });

  it('backward with a signal of the wrong shape', async () => {
    const rt = await getRuntime();
    const a = await zeros([2, 3]), b = await zeros([3]), g = await zeros([3, 3]);
    const attempt = rt.run('bad backward', (rec) => binaryBackward(rec, 'mul', g, a, b));
    await expect(attempt).rejects.toThrow(/mul backward: signal \[3,3\] is not the broadcast shape \[2,3\]/);
    a.release(); b.release(); g.release();
  });
});
