import { describe, expect, it } from 'vitest';
import { transpose, transposeBackward, inversePerm } from '../src/ops/transpose.js';
import { OutOfRangeError, UnsupportedError } from '../src/gpu/errors.js';
import { getRuntime, expectClose } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { transposeRef } from './ref/transpose.js';
import { dot } from './ref/pool.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

const CASES: Array<[number[], number[]]> = [
  [[2, 3, 5, 7], [0, 1, 2, 3]],
  [[2, 3, 5, 7], [0, 2, 3, 1]],
  [[2, 3, 5, 7], [0, 3, 1, 2]],
  [[2, 3, 5, 7], [3, 2, 1, 0]],
  [[17, 19], [1, 0]],
  [[301], [0]],
  [[2, 3, 4, 5, 3], [4, 2, 0, 3, 1]],
  [[2, 1, 3, 2, 2, 3], [5, 3, 1, 0, 4, 2]],
];

describe('transpose forward, backward and adjoint', () => {
  for (const [shape, perm] of CASES) {
    it(`[${shape}] by [${perm}]`, async () => {
      const rt = await getRuntime();
      const data = makeRandom(size(shape)).array(size(shape), -2, 2);
      const { y: yRef, shape: outShape } = transposeRef(data, shape, perm);
      const gData = makeRandom(7).array(size(shape), -1, 1);
      const x = rt.createTensor(shape, data), g = rt.createTensor(outShape, gData);
      const { y, dx } = await rt.run('transpose', (rec) => ({ y: transpose(rec, x, perm), dx: transposeBackward(rec, g, perm) }));
      expect(y.shape).toEqual(outShape);
      expect(dx.shape).toEqual(shape);
      const yData = await y.read(), dxData = await dx.read();
      expectClose(yData, yRef, 'transpose');
      expectClose(dxData, transposeRef(gData, outShape, inversePerm(perm)).y, 'transpose backward');
      // A permutation is orthogonal: <g, P x> = <P^T g, x>.
      const lhs = dot(gData, yData), rhs = dot(dxData, data);
      expect(Math.abs(lhs - rhs), `${lhs} vs ${rhs}`).toBeLessThanOrEqual(1e-5 * (Math.abs(lhs) + 1));
      for (const t of [x, g, y, dx]) t.release();
    });
  }

  it('by hand: [[1 2 3] [4 5 6]] -> [[1 4] [2 5] [3 6]]', async () => {
    const rt = await getRuntime();
    const x = rt.createTensor([2, 3], Float32Array.from([1, 2, 3, 4, 5, 6]));
    const y = await rt.run('t', (rec) => transpose(rec, x, [1, 0]));
    expect(y.shape).toEqual([3, 2]);
    expect(Array.from(await y.read())).toEqual([1, 4, 2, 5, 3, 6]);
    x.release(); y.release();
  });

  it('errors: bad permutations and rank over 6', async () => {
    const rt = await getRuntime();
    const x = rt.createTensor([2, 3, 4], new Float32Array(24));
    for (const perm of [[0, 1], [0, 1, 1], [0, 1, 3], [0, -1, 2], [0, 1.5, 2]]) {
      const attempt = rt.run('bad', (rec) => transpose(rec, x, perm));
      await expect(attempt, JSON.stringify(perm)).rejects.toThrow(OutOfRangeError);
      await expect(attempt).rejects.toThrow(/transpose: perm .* is not a permutation of the 3 axes 0\.\.2/);
    }
    const big = rt.createTensor([1, 1, 1, 1, 1, 1, 2], new Float32Array(2));
    await expect(rt.run('bad', (rec) => transpose(rec, big, [0, 1, 2, 3, 4, 5, 6]))).rejects.toThrow(UnsupportedError);
    x.release(); big.release();
  });
});
