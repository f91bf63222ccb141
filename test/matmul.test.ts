import { describe, expect, it } from 'vitest';
import { matmul, type MatmulAttrs } from '../src/ops/matmul.js';
import { dense, denseBackwardInput } from '../src/ops/dense.js';
import { OutOfRangeError, ShapeError, UnsupportedError } from '../src/gpu/errors.js';
import type { Runtime } from '../src/gpu/runtime.js';
import type { Tensor } from '../src/gpu/tensor.js';
import { getRuntime, expectClose } from './helpers/gpu.js';
import { expectError } from './helpers/errors.js';
import { makeRandom } from './helpers/random.js';
import { gemmRef, denseRef, denseBackwardRef, dot } from './ref/matmul.js';
import { MATMUL_DIRECT_WORKGROUP, MATMUL_TILES, matmulParams, matmulShader, matmulTileKey } from '../shaders/matmul.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

interface GemmCase {
  M: number; N: number; K: number;
  attrs?: MatmulAttrs;
  /** null: no C operand; a function of (M, N) gives C's shape. */
  bias?: ((M: number, N: number) => number[]) | null;
}

function describeCase(c: GemmCase): string {
  const a = c.attrs ?? {};
  const flags = [
    a.transposeA ? 'tA' : '', a.transposeB ? 'tB' : '',
    a.alpha !== undefined ? `alpha=${a.alpha}` : '', a.beta !== undefined ? `beta=${a.beta}` : '',
    a.activation === 'relu' ? 'relu' : '',
    c.bias ? `bias [${c.bias(c.M, c.N)}]` : '',
  ].filter(Boolean).join(' ');
  return `${c.M}x${c.N}x${c.K} ${flags}`.trim();
}

async function runGemm(rt: Runtime, c: GemmCase, seed: number) {
  const a = c.attrs ?? {};
  const rnd = makeRandom(seed);
  const aShape = a.transposeA ? [c.K, c.M] : [c.M, c.K];
  const bShape = a.transposeB ? [c.N, c.K] : [c.K, c.N];
  const aData = rnd.array(size(aShape)), bData = rnd.array(size(bShape));
  const cShape = c.bias ? c.bias(c.M, c.N) : null;
  const cData = cShape ? rnd.array(size(cShape)) : null;
  const A = rt.createTensor(aShape, aData), B = rt.createTensor(bShape, bData);
  const C = cShape ? rt.createTensor(cShape, cData!) : null;
  const Y = await rt.run('matmul', (rec) => matmul(rec, A, B, C, a));
  const ref = gemmRef(aData, aShape, bData, bShape, cShape ? { data: cData!, shape: cShape } : null, {
    ...a, relu: a.activation === 'relu',
  });
  expect(Y.shape).toEqual([c.M, c.N]);
  expectClose(await Y.read(), ref.y, describeCase(c));
  for (const t of [A, B, C, Y]) t?.release();
}

const SIZES: Array<[number, number, number]> = [[1, 1, 1], [5, 7, 3], [33, 65, 17], [70, 130, 257], [1, 1000, 40], [64, 32, 48]];
const TRANSPOSES = [[false, false], [true, false], [false, true], [true, true]] as const;

const BIAS_SHAPES: Array<(M: number, N: number) => number[]> = [
  (_M, N) => [N], (_M, N) => [1, N], (M) => [M, 1], (M, N) => [M, N], () => [1], () => [], () => [1, 1],
];

const CASES: GemmCase[] = [
  ...SIZES.flatMap(([M, N, K]) => TRANSPOSES.map(([tA, tB]) => ({ M, N, K, attrs: { transposeA: tA, transposeB: tB } }))),
  ...BIAS_SHAPES.map((bias) => ({ M: 37, N: 41, K: 19, bias })),
  ...TRANSPOSES.map(([tA, tB]) => ({ M: 9, N: 35, K: 33, bias: BIAS_SHAPES[0], attrs: { transposeA: tA, transposeB: tB, alpha: -0.75, beta: 2.5 } })),
  { M: 37, N: 41, K: 19, bias: BIAS_SHAPES[3], attrs: { alpha: 0.5, beta: 0 } },
  { M: 37, N: 41, K: 19, bias: null, attrs: { alpha: 3 } },
  { M: 37, N: 41, K: 19, bias: BIAS_SHAPES[0], attrs: { activation: 'relu' } },
  { M: 40, N: 3, K: 70, bias: BIAS_SHAPES[2], attrs: { activation: 'relu', transposeA: true, transposeB: true, alpha: 2, beta: -1 } },
  { M: 17, N: 5, K: 9, bias: null, attrs: { activation: 'relu' } },
];

describe('matmul (Gemm)', () => {
  CASES.forEach((c, i) => {
    it(describeCase(c), async () => runGemm(await getRuntime(), c, 100 + i));
  });

  // 65536 real workgroups take about a minute on SwiftShader, so the fold is
  // reached by lowering the limit the grid folds at (as the conv tests do): the
  // shader numbers its tiles wid.x + wid.y * num_workgroups.x whatever the limit.
  for (const [variant, M, N, limit] of [['tiled', 32 * 13 + 5, 3, 5], ['direct', 4 * 200 + 3, 5, 3]] as const) {
    it(`folds a grid past the workgroup limit into y (${variant}: ${M}x${N}, limit ${limit})`, async () => {
      const rt = await getRuntime();
      const K = 2, tile = MATMUL_TILES[variant]!;
      const rnd = makeRandom(7);
      const aData = rnd.array(M * K), bData = rnd.array(K * N), cData = rnd.array(N);
      const A = rt.createTensor([M, K], aData), B = rt.createTensor([K, N], bData), C = rt.createTensor([N], cData);
      const tilesM = Math.ceil(M / tile.tm), tilesN = Math.ceil(N / tile.tn);
      const perGroup = tile.direct ? MATMUL_DIRECT_WORKGROUP : 1;
      const groups = Math.ceil(tilesM * tilesN / perGroup);
      const dispatch: [number, number, number] = [limit, Math.ceil(groups / limit), 1];
      expect(groups).toBeGreaterThan(limit);
      expect(dispatch[0] * dispatch[1]).toBeGreaterThan(groups); // the last row of the grid has workgroups with no tile
      const Y = await rt.run('folded matmul', (rec) => {
        const y = rec.tensor([M, N], 'folded matmul');
        rec.dispatch({
          name: 'folded matmul', key: `test-matmul:${matmulTileKey(tile)}`,
          shader: () => matmulShader({ transposeA: false, transposeB: false, bias: true, relu: false, tile }),
          params: matmulParams.pack({
            M, N, K, tilesM, tilesN, alpha: 1, beta: 1, biasRowStride: 0, biasColStride: 1, lda: K, aCol: 0, ldy: N, yCol: 0, biasOffset: 0,
          }),
          buffers: [A, B, y, C], dispatch,
        });
        return y;
      });
      expectClose(await Y.read(), gemmRef(aData, [M, K], bData, [K, N], { data: cData, shape: [N] }).y, `folded ${variant}`);
      for (const t of [A, B, C, Y]) t.release();
    });
  }

  it('chains in one submit (output feeds the next matmul)', async () => {
    const rt = await getRuntime();
    const rnd = makeRandom(3);
    const aData = rnd.array(6 * 10), bData = rnd.array(10 * 7), cData = rnd.array(7 * 4);
    const A = rt.createTensor([6, 10], aData), B = rt.createTensor([10, 7], bData), C = rt.createTensor([7, 4], cData);
    const Y = await rt.run('chain', (rec) => matmul(rec, rec.temp(matmul(rec, A, B, null)), C, null));
    const ab = gemmRef(aData, [6, 10], bData, [10, 7], null).y;
    expectClose(await Y.read(), gemmRef(ab, [6, 7], cData, [7, 4], null).y, 'A B C');
  });
});

describe('dense', () => {
  const DENSE: Array<{ x: number[]; out: number; bias: boolean; relu?: boolean }> = [
    { x: [1, 1], out: 1, bias: true },
    { x: [3, 2, 5, 7], out: 11, bias: true },
    { x: [2, 300], out: 1000, bias: true },
    { x: [5, 33], out: 65, bias: false },
    { x: [4, 3, 3, 3], out: 10, bias: true, relu: true },
  ];
  DENSE.forEach((c, i) => {
    const inF = size(c.x) / c.x[0]!;
    it(`x [${c.x}] -> ${c.out}${c.bias ? ' + bias' : ''}${c.relu ? ' relu' : ''}, and its backward`, async () => {
      const rt = await getRuntime();
      const rnd = makeRandom(500 + i);
      const batch = c.x[0]!;
      const xData = rnd.array(size(c.x)), wData = rnd.array(c.out * inF), gData = rnd.array(batch * c.out);
      const bData = c.bias ? rnd.array(c.out) : null;
      const x = rt.createTensor(c.x, xData), w = rt.createTensor([c.out, inF], wData), g = rt.createTensor([batch, c.out], gData);
      const b = bData ? rt.createTensor([c.out], bData) : null;
      const [y, dx] = await rt.run('dense', (rec) => [
        dense(rec, x, w, b, { activation: c.relu ? 'relu' : 'none' }),
        denseBackwardInput(rec, g, w),
      ]);
      expect(y.shape).toEqual([batch, c.out]);
      expect(dx.shape).toEqual([batch, inF]);
      const yData = await y.read(), dxData = await dx.read();
      expectClose(yData, denseRef(xData, batch, wData, c.out, inF, bData, c.relu), 'dense');
      expectClose(dxData, denseBackwardRef(gData, batch, wData, c.out, inF), 'dense backward');
      if (!c.relu) {
        // The backward is the adjoint of the linear part: <W x, g> == <x, W^T g>.
        const linear = Float64Array.from(yData, (v, j) => v - (bData ? bData[j % c.out]! : 0));
        const lhs = dot(linear, gData), rhs = dot(xData, dxData);
        const scale = Math.sqrt(dot(linear, linear) * dot(gData, gData));
        expect(Math.abs(lhs - rhs), `<dense(x)-b, g> = ${lhs}, <x, back(g)> = ${rhs}`).toBeLessThan(1e-5 * scale);
      }
      for (const t of [x, w, g, b, y, dx]) t?.release();
    });
  });
});


describe('matmul / dense errors', () => {
  let t: (shape: number[]) => Tensor;
  const tensors = async () => {
    const rt = await getRuntime();
    t = (shape) => rt.createTensor(shape, new Float32Array(size(shape)));
  };

  it('inner-dimension mismatch', async () => {
    await tensors();
    await expectError((rec) => matmul(rec, t([3, 4]), t([5, 6]), null), ShapeError, ['matmul', 'K=4', 'K=5']);
    await expectError((rec) => matmul(rec, t([3, 4]), t([3, 6]), null, { transposeA: true, transposeB: true }), ShapeError, ['matmul', 'K=3', 'K=6']);
  });

  it('non-2-D operands', async () => {
    await tensors();
    await expectError((rec) => matmul(rec, t([2, 3, 4]), t([4, 6]), null), ShapeError, ['matmul', '2,3,4']);
    await expectError((rec) => matmul(rec, t([3, 4]), t([4]), null), ShapeError, ['matmul', 'b']);
  });

  it('bias that does not broadcast to [M, N]', async () => {
    await tensors();
    for (const shape of [[7], [3], [2, 6], [3, 2], [6, 3], [1, 3, 6]]) {
      await expectError((rec) => matmul(rec, t([3, 4]), t([4, 6]), t(shape)), ShapeError, ['matmul', `[${shape}]`, '[3, 6]']);
    }
  });

  it('bad attributes', async () => {
    await tensors();
    await expectError((rec) => matmul(rec, t([3, 4]), t([4, 6]), null, { alpha: NaN }), OutOfRangeError, ['matmul', 'alpha']);
    await expectError((rec) => matmul(rec, t([3, 4]), t([4, 6]), null, { beta: Infinity }), OutOfRangeError, ['matmul', 'beta']);
    await expectError((rec) => matmul(rec, t([3, 4]), t([4, 6]), null, { activation: 'gelu' as 'relu' }), UnsupportedError, ['matmul', 'gelu']);
  });

  it('dense weight / feature mismatch', async () => {
    await tensors();
    await expectError((rec) => dense(rec, t([2, 3, 4]), t([5, 13]), null), ShapeError, ['dense', '12', '13']);
    await expectError((rec) => dense(rec, t([2, 12]), t([5, 12]), t([6])), ShapeError, ['dense', 'bias', '[6]']);
    await expectError((rec) => dense(rec, t([12]), t([5, 12]), null), ShapeError, ['dense', '[12]']);
    await expectError((rec) => dense(rec, t([2, 12]), t([60]), null), ShapeError, ['dense', 'weight', '[60]']);
    await expectError((rec) => denseBackwardInput(rec, t([2, 6]), t([5, 12])), ShapeError, ['dense backward', '[2,6]', '5']);
  });
});
