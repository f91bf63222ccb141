import { describe, expect, it } from 'vitest';
import { concat, sliceAxis, split } from '../src/ops/concat.js';
import { ShapeError, OutOfRangeError } from '../src/gpu/errors.js';
import { getRuntime, expectClose, counted } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { concatRef, sliceRef } from './ref/concat.js';
import { dot } from './ref/pool.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

describe('concat of 3 inputs on every axis, split back, adjoint', () => {
  const base = [2, 3, 5, 7];
  for (let axis = 0; axis < base.length; axis++) {
    for (const asNegative of [false, true]) {
      const given = asNegative ? axis - base.length : axis;
      it(`axis ${given} of [${base}]`, async () => {
        const rt = await getRuntime();
        const lens = [2, 1, 4];
        const shapes = lens.map((l) => base.map((d, k) => (k === axis ? l : d)));
        const data = shapes.map((s, j) => makeRandom(10 * j + axis).array(size(s), -2, 2));
        const xs = shapes.map((s, j) => rt.createTensor(s, data[j]!));
        const { y: yRef, shape: outShape } = concatRef(data, shapes, axis);
        const gData = makeRandom(99).array(size(outShape), -1, 1);
        const g = rt.createTensor(outShape, gData);
        const { result, passes } = await counted(rt, 'concat', (rec) => ({ y: concat(rec, xs, given), parts: split(rec, g, given, lens) }));
        expect(passes).toBe(6);
        expect(result.y.shape).toEqual(outShape);
        const yData = await result.y.read();
        expectClose(yData, yRef, 'concat');
        let start = 0, rhs = 0;
        for (let j = 0; j < 3; j++) {
          expect(result.parts[j]!.shape).toEqual(shapes[j]);
          const part = await result.parts[j]!.read();
          expectClose(part, sliceRef(gData, outShape, axis, start, lens[j]!), `split part ${j}`);
          rhs += dot(part, data[j]!);
          start += lens[j]!;
        }
        // Split is concat's adjoint: <g, concat(xs)> = sum_j <split(g)_j, x_j>.
        const lhs = dot(gData, yData);
        expect(Math.abs(lhs - rhs), `${lhs} vs ${rhs}`).toBeLessThanOrEqual(1e-5 * (Math.abs(lhs) + 1));
        for (const t of [...xs, g, result.y, ...result.parts]) t.release();
      });
    }
  }

  it('rank 1, 2 and 5, sizes past a workgroup that are not multiples of it', async () => {
    const rt = await getRuntime();
    const cases: Array<[number[][], number]> = [
      [[[300], [1], [257]], 0],
      [[[37, 11], [37, 5], [37, 1]], 1],
      [[[2, 3, 1, 4, 5], [2, 3, 3, 4, 5], [2, 3, 2, 4, 5]], 2],
    ];
    for (const [shapes, axis] of cases) {
      const data = shapes.map((s, j) => makeRandom(j + 5).array(size(s)));
      const xs = shapes.map((s, j) => rt.createTensor(s, data[j]!));
      const y = await rt.run('concat', (rec) => concat(rec, xs, axis));
      expectClose(await y.read(), concatRef(data, shapes, axis).y, `concat axis ${axis} of ${JSON.stringify(shapes)}`);
      for (const t of [...xs, y]) t.release();
    }
  });

  it('sliceAxis picks rows by hand', async () => {
    const rt = await getRuntime();
    const x = rt.createTensor([2, 4], Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]));
    const y = await rt.run('slice', (rec) => sliceAxis(rec, x, -1, 1, 2));
    expect(y.shape).toEqual([2, 2]);
    expect(Array.from(await y.read())).toEqual([1, 2, 5, 6]);
    x.release(); y.release();
  });
});

describe('concat errors', () => {
  it('inputs that differ off the axis', async () => {
    const rt = await getRuntime();
    const a = rt.createTensor([1, 2, 3, 3], new Float32Array(18)), b = rt.createTensor([1, 2, 4, 3], new Float32Array(24));
    const attempt = rt.run('bad concat', (rec) => concat(rec, [a, b], 1));
    await expect(attempt).rejects.toThrow(ShapeError);
    await expect(attempt).rejects.toThrow(/concat: inputs \[1,2,3,3\], \[1,2,4,3\] must match on every axis but 1/);
    const rankMismatch = rt.run('bad concat', (rec) => concat(rec, [a, a.reshape([2, 3, 3])], 0));
    await expect(rankMismatch).rejects.toThrow(ShapeError);
    a.release(); b.release();
  });

  it('axis out of range, bad slices and splits', async () => {
    const rt = await getRuntime();
    const a = rt.createTensor([2, 3], new Float32Array(6));
    await expect(rt.run('bad', (rec) => concat(rec, [a, a], 2))).rejects.toThrow(OutOfRangeError);
    await expect(rt.run('bad', (rec) => concat(rec, [a, a], -3))).rejects.toThrow(/concat: axis -3 is outside \[-2, 1\] for rank 2/);
    await expect(rt.run('bad', (rec) => sliceAxis(rec, a, 1, 2, 2))).rejects.toThrow(OutOfRangeError);
    await expect(rt.run('bad', (rec) => split(rec, a, 1, [1, 1]))).rejects.toThrow(/split: sizes \[1,1\] must be positive integers adding up to axis 1 of \[2,3\] \(3\)/);
    await expect(rt.run('bad', (rec) => concat(rec, [], 0))).rejects.toThrow(ShapeError);
    a.release();
  });
});
