import { describe, expect, it } from 'vitest';
import {
  Add, Mul, Concat, ConstantOp, Transpose, Reshape, GlobalAvgPool2D, GlobalMaxPool2D, Identity, isMerge,
} from '../src/layers/index.js';
import type { BinaryOp } from '../src/ops/elementwise.js';
import type { Layer, MergeLayer } from '../src/layers/layer.js';
import { ShapeError, OutOfRangeError } from '../src/gpu/errors.js';
import type { Tensor } from '../src/gpu/tensor.js';
import { getRuntime, expectClose } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { binaryRef, binaryBackwardRef, reduceRef } from './ref/elementwise.js';
import { concatRef, sliceRef } from './ref/concat.js';
import { transposeRef } from './ref/transpose.js';
import { dot } from './ref/pool.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const N = 2;
/** Full shape of a per-image shape aligned to `rank` per-image axes (missing axes as 1s after the batch axis). */
const aligned = (s: readonly number[], rank: number) => [N, ...new Array<number>(rank - s.length).fill(1), ...s];

async function releaseAll(ts: Tensor[]): Promise<void> {
  const seen = new Set<GPUBuffer>();
  for (const t of ts) if (!seen.has(t.buffer)) { seen.add(t.buffer); t.release(); }
}

describe('kinds and merge flags', () => {
  it('every layer names its kind; joins are merges', () => {
    const layers = [
      new Add(), new Mul(), new Concat({ axis: 0 }),
      new ConstantOp({ op: 'add', constant: new Float32Array(1), shape: [1] }),
      new Transpose({ perm: [0] }), new Reshape({ shape: [-1] }), new GlobalAvgPool2D(), new GlobalMaxPool2D(), new Identity(),
    ];
    expect(layers.map((l) => l.kind)).toEqual(['Add', 'Mul', 'Concat', 'ConstantOp', 'Transpose', 'Reshape', 'GlobalAvgPool2D', 'GlobalMaxPool2D', 'Identity']);
    expect(layers.map((l) => isMerge(l))).toEqual([true, true, true, false, false, false, false, false, false]);
  });
});

describe('Add', () => {
  const cases: Array<[string, number[][]]> = [
    ['three equal inputs (sumN)', [[3, 5, 7], [3, 5, 7], [3, 5, 7]]],
    ['per-channel and per-column inputs', [[3, 5, 7], [3, 1, 1], [7]]],
    ['both sides broadcast', [[3, 1, 7], [1, 5, 1]]],
  ];
  for (const [what, shapes] of cases) {
    it(`${what}: ${JSON.stringify(shapes)}`, async () => {
      const rt = await getRuntime();
      const layer: MergeLayer = new Add({ name: 'add1' });
      const outImage = layer.build(rt, shapes);
      const rank = outImage.length;
      const outShape = [N, ...outImage];
      const data = shapes.map((s, j) => makeRandom(j + 1).array(N * size(s)));
      const xs = shapes.map((s, j) => rt.createTensor([N, ...s], data[j]!));
      const gData = makeRandom(50).array(size(outShape));
      const g = rt.createTensor(outShape, gData);
      const { y, grads } = await rt.run('add', (rec) => {
        const y = layer.forward(rec, xs).output;
        return { y, grads: layer.backward(rec, g, { inputs: xs, output: y }, 'deconvnet') };
      });
      expect(y.shape).toEqual(outShape);
      let ref: ArrayLike<number> = new Float64Array(size(outShape));
      let refShape = outShape;
      for (let j = 0; j < shapes.length; j++) ({ y: ref, shape: refShape } = binaryRef('add', ref, refShape, data[j]!, aligned(shapes[j]!, rank)));
      expectClose(await y.read(), ref, 'Add forward');
      for (let j = 0; j < shapes.length; j++) {
        expect(grads[j]!.shape).toEqual([N, ...shapes[j]!]);
        if (size(shapes[j]!) === size(outImage)) expect(grads[j]!.buffer).toBe(g.buffer);
        const gd = await grads[j]!.read();
        expectClose(gd, reduceRef(gData, outShape, aligned(shapes[j]!, rank)), `Add backward ${j}`);
        // The backward rule is the adjoint of the broadcast that brought input j in.
        const v = makeRandom(j + 77).array(gd.length);
        const lhs = dot(gData, binaryRef('add', new Float32Array(size(outShape)), outShape, v, aligned(shapes[j]!, rank)).y);
        expect(Math.abs(lhs - dot(gd, v))).toBeLessThanOrEqual(1e-5 * (Math.abs(lhs) + 1));
      }
      await releaseAll([...xs, g, y, ...grads]);
      layer.destroy();
    });
  }

  it('build rejects shapes that do not broadcast, and no inputs', async () => {
    const rt = await getRuntime();
    const layer = new Add({ name: 'res' });
    expect(() => layer.build(rt, [[3, 5, 7], [4, 5, 7]])).toThrow(ShapeError);
    expect(() => layer.build(rt, [[3, 5, 7], [4, 5, 7]])).toThrow(/res: Add inputs \[3,5,7\], \[4,5,7\] do not broadcast/);
    expect(() => layer.build(rt, [])).toThrow(/res: Add needs at least 1 inputs, got 0/);
  });
});

describe('Mul', () => {
  it('squeeze-and-excitation scale [C, H, W] * [C, 1, 1], backward and adjoint', async () => {
    const rt = await getRuntime();
    const layer: MergeLayer = new Mul({ name: 'se' });
    const shapes = [[4, 9, 8], [4, 1, 1]];
    expect(layer.build(rt, shapes)).toEqual([4, 9, 8]);
    const full = shapes.map((s) => [N, ...s]);
    const data = full.map((s, j) => makeRandom(j + 3).array(size(s), -2, 2));
    const xs = full.map((s, j) => rt.createTensor(s, data[j]!));
    const outShape = full[0]!;
    const gData = makeRandom(8).array(size(outShape));
    const g = rt.createTensor(outShape, gData);
    const { y, grads } = await rt.run('mul', (rec) => {
      const y = layer.forward(rec, xs).output;
      return { y, grads: layer.backward(rec, g, { inputs: xs, output: y }, 'guided') };
    });
    expectClose(await y.read(), binaryRef('mul', data[0]!, full[0]!, data[1]!, full[1]!).y, 'Mul forward');
    const refs = binaryBackwardRef('mul', gData, data[0]!, full[0]!, data[1]!, full[1]!);
    for (let j = 0; j < 2; j++) {
      expect(grads[j]!.shape).toEqual(full[j]);
      expectClose(await grads[j]!.read(), refs[j]!, `Mul backward ${j}`);
    }
    await releaseAll([...xs, g, y, ...grads]);
  });

  it('lower-rank second input aligns after the batch axis', async () => {
    const rt = await getRuntime();
    const layer: MergeLayer = new Mul();
    expect(layer.build(rt, [[2, 3], [3]])).toEqual([2, 3]);
    const a = rt.createTensor([N, 2, 3], Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]));
    const b = rt.createTensor([N, 3], Float32Array.from([1, 10, 100, -1, -10, -100]));
    const g = rt.createTensor([N, 2, 3], new Float32Array(12).fill(1));
    const { y, grads } = await rt.run('mul', (rec) => {
      const y = layer.forward(rec, [a, b]).output;
      return { y, grads: layer.backward(rec, g, { inputs: [a, b], output: y }, 'gradient') };
    });
    expect(Array.from(await y.read())).toEqual([1, 20, 300, 4, 50, 600, -7, -80, -900, -10, -110, -1200]);
    expect(grads[1]!.shape).toEqual([N, 3]);
    expect(Array.from(await grads[1]!.read())).toEqual([5, 7, 9, 17, 19, 21]);
    await releaseAll([a, b, g, y, ...grads]);
  });

  it('build needs exactly 2 inputs', async () => {
    const rt = await getRuntime();
    expect(() => new Mul({ name: 'm' }).build(rt, [[2], [2], [2]])).toThrow(/m: Mul needs 2 inputs, got 3/);
    expect(() => new Mul().build(rt, [[2, 3], [3, 2]])).toThrow(ShapeError);
  });
});

describe('Concat', () => {
  for (const axis of [0, 1, -1]) {
    it(`3 inputs on per-image axis ${axis}, split back`, async () => {
      const rt = await getRuntime();
      const base = [3, 4, 5];
      const ax = axis < 0 ? axis + 3 : axis;
      const lens = [1, 3, 2];
      const shapes = lens.map((l) => base.map((d, k) => (k === ax ? l : d)));
      const layer: MergeLayer = new Concat({ name: 'mixed', axis });
      const outImage = layer.build(rt, shapes);
      expect(outImage).toEqual(base.map((d, k) => (k === ax ? 6 : d)));
      const full = shapes.map((s) => [N, ...s]);
      const data = full.map((s, j) => makeRandom(j + 20).array(size(s)));
      const xs = full.map((s, j) => rt.createTensor(s, data[j]!));
      const outShape = [N, ...outImage];
      const gData = makeRandom(4).array(size(outShape));
      const g = rt.createTensor(outShape, gData);
      const { y, grads } = await rt.run('concat', (rec) => {
        const y = layer.forward(rec, xs).output;
        return { y, grads: layer.backward(rec, g, { inputs: xs, output: y }, 'deconvnet') };
      });
      expectClose(await y.read(), concatRef(data, full, ax + 1).y, 'Concat forward');
      let start = 0;
      for (let j = 0; j < 3; j++) {
        expect(grads[j]!.shape).toEqual(full[j]);
        expectClose(await grads[j]!.read(), sliceRef(gData, outShape, ax + 1, start, lens[j]!), `Concat backward ${j}`);
        start += lens[j]!;
      }
      await releaseAll([...xs, g, y, ...grads]);
    });
  }

  it('build errors', async () => {
    const rt = await getRuntime();
    expect(() => new Concat({ name: 'c', axis: 0 }).build(rt, [[2, 4, 4], [3, 5, 4]])).toThrow(ShapeError);
    expect(() => new Concat({ name: 'c', axis: 0 }).build(rt, [[2, 4, 4], [3, 5, 4]])).toThrow(/c: Concat: inputs \[2,4,4\], \[3,5,4\] must match on every axis but 0/);
    expect(() => new Concat({ name: 'c', axis: 3 }).build(rt, [[2, 4, 4], [2, 4, 4]])).toThrow(OutOfRangeError);
    expect(() => new Concat({ name: 'c', axis: 0 }).build(rt, [[2, 4, 4], [2, 4]])).toThrow(ShapeError);
  });
});

describe('ConstantOp', () => {
  const cases: Array<[string, number[], number[]]> = [
    ['per-channel [C, 1, 1]', [3, 5, 6], [3, 1, 1]],
    ['scalar [1]', [3, 5, 6], [1]],
    ['full-rank [1, C, 1, 1]', [3, 5, 6], [1, 3, 1, 1]],
    ['constant broadcasts x: [1, H, W] with [C, 1, 1]', [1, 5, 6], [3, 1, 1]],
  ];
  const ops: BinaryOp[] = ['add', 'sub', 'mul', 'div'];
  for (const [what, inShape, cShape] of cases) {
    it(`${what}: every op, both operand orders, forward and backward`, async () => {
      const rt = await getRuntime();
      const xFull = [N, ...inShape];
      // Away from 0: x and c both serve as divisors.
      const xData = makeRandom(size(xFull)).array(size(xFull), 0.5, 2).map((v, i) => (i % 4 === 1 ? -v : v));
      const cData = makeRandom(size(cShape) + 1).array(size(cShape), 0.5, 2).map((v, i) => (i % 2 === 1 ? -v : v));
      const x = rt.createTensor(xFull, xData);
      for (const op of ops) {
        for (const constantFirst of [false, true]) {
          const layer: Layer = new ConstantOp({ name: 'k', op, constant: cData, shape: cShape, constantFirst });
          const outImage = layer.build(rt, inShape);
          const outShape = [N, ...outImage];
          const gData = makeRandom(17).array(size(outShape));
          const g = rt.createTensor(outShape, gData);
          const { y, dx } = await rt.run('constant op', (rec) => {
            const y = layer.forward(rec, x).output;
            return { y, dx: layer.backward(rec, g, { input: x, output: y }, 'deconvnet') };
          });
          const label = `${op}${constantFirst ? ' (constant first)' : ''}`;
          const ref = constantFirst ? binaryRef(op, cData, cShape, xData, xFull) : binaryRef(op, xData, xFull, cData, cShape);
          expect(y.shape, label).toEqual(ref.shape);
          expectClose(await y.read(), ref.y, `${label} forward`);
          const grads = constantFirst
            ? binaryBackwardRef(op, gData, cData, cShape, xData, xFull)[1]
            : binaryBackwardRef(op, gData, xData, xFull, cData, cShape)[0];
          expect(dx.shape, label).toEqual(xFull);
          expectClose(await dx.read(), grads, `${label} backward`);
          await releaseAll([g, y, dx]);
          layer.destroy();
        }
      }
      x.release();
    });
  }

  it('errors: batch broadcast, no broadcast, wrong value count, bad op', async () => {
    const rt = await getRuntime();
    const make = (shape: number[], op: BinaryOp = 'add') => new ConstantOp({ name: 'k', op, constant: new Float32Array(size(shape)), shape });
    expect(() => make([2, 3, 1, 1]).build(rt, [3, 4, 4])).toThrow(ShapeError);
    expect(() => make([2, 3, 1, 1]).build(rt, [3, 4, 4])).toThrow(/k: ConstantOp constant \[2,3,1,1\] would broadcast over the batch axis/);
    expect(() => make([1, 1, 1, 1, 1]).build(rt, [3, 4, 4])).toThrow(ShapeError);
    expect(() => make([5, 1, 1]).build(rt, [3, 4, 4])).toThrow(/k: ConstantOp constant \[5,1,1\] does not broadcast against input \[N, 3,4,4\]/);
    expect(() => new ConstantOp({ name: 'k', op: 'mul', constant: new Float32Array(2), shape: [3] })).toThrow(/k: ConstantOp constant has 2 values, shape \[3\] needs 3/);
    expect(() => make([1], 'pow' as BinaryOp)).toThrow(OutOfRangeError);
  });
});

describe('Transpose, Reshape, Identity', () => {
  it('Transpose [C, H, W] -> [H, W, C] and back', async () => {
    const rt = await getRuntime();
    const layer: Layer = new Transpose({ name: 't', perm: [1, 2, 0] });
    expect(layer.build(rt, [3, 4, 5])).toEqual([4, 5, 3]);
    const data = makeRandom(1).array(N * 60);
    const x = rt.createTensor([N, 3, 4, 5], data);
    const { y, dx } = await rt.run('t', (rec) => {
      const y = layer.forward(rec, x).output;
      return { y, dx: layer.backward(rec, y, { input: x, output: y }, 'deconvnet') };
    });
    expect(y.shape).toEqual([N, 4, 5, 3]);
    expectClose(await y.read(), transposeRef(data, [N, 3, 4, 5], [0, 2, 3, 1]).y, 'Transpose forward');
    expect(dx.shape).toEqual([N, 3, 4, 5]);
    expectClose(await dx.read(), data, 'Transpose backward of its own output');
    await releaseAll([x, y, dx]);
    expect(() => new Transpose({ name: 't', perm: [0, 1, 2, 3] }).build(rt, [3, 4, 5])).toThrow(OutOfRangeError);
  });

  it('Reshape resolves -1, makes views, and rejects sizes that do not fit', async () => {
    const rt = await getRuntime();
    const layer: Layer = new Reshape({ name: 'r', shape: [3, -1] });
    expect(layer.build(rt, [3, 4, 5])).toEqual([3, 20]);
    expect(new Reshape({ shape: [-1] }).build(rt, [3, 4, 5])).toEqual([60]);
    const x = rt.createTensor([N, 3, 4, 5], makeRandom(2).array(N * 60));
    const { y, dx } = await rt.run('r', (rec) => {
      const y = layer.forward(rec, x).output;
      return { y, dx: layer.backward(rec, y, { input: x, output: y }, 'deconvnet') };
    });
    expect(y.shape).toEqual([N, 3, 20]);
    expect(y.buffer).toBe(x.buffer);
    expect(dx.shape).toEqual([N, 3, 4, 5]);
    expect(dx.buffer).toBe(x.buffer);
    x.release();
    expect(() => new Reshape({ name: 'r', shape: [7, -1] }).build(rt, [3, 4, 5])).toThrow(ShapeError);
    expect(() => new Reshape({ name: 'r', shape: [7, -1] }).build(rt, [3, 4, 5])).toThrow(/r: Reshape cannot make \[7,-1\] from input \[3,4,5\]/);
    expect(() => new Reshape({ name: 'r', shape: [-1, -1] })).toThrow(OutOfRangeError);
    expect(() => new Reshape({ name: 'r', shape: [0, 5] })).toThrow(OutOfRangeError);
  });

  it('Identity is a view both ways', async () => {
    const rt = await getRuntime();
    const layer: Layer = new Identity({ name: 'drop' });
    expect(layer.build(rt, [3, 4])).toEqual([3, 4]);
    const x = rt.createTensor([N, 3, 4], makeRandom(3).array(N * 12));
    const g = rt.createTensor([N, 3, 4], makeRandom(4).array(N * 12));
    const y = await rt.run('id', (rec) => layer.forward(rec, x).output);
    const dx = await rt.run('id', (rec) => layer.backward(rec, g, { input: x, output: y }, 'guided'));
    expect(y.buffer).toBe(x.buffer);
    expect(y.shape).toEqual(x.shape);
    expect(dx.buffer).toBe(g.buffer);
    x.release(); g.release();
  });
});

describe('global pooling', () => {
  it('GlobalAvgPool2D: means forward, g / (H W) backward', async () => {
    const rt = await getRuntime();
    const layer: Layer = new GlobalAvgPool2D({ name: 'gap' });
    const [C, H, W] = [3, 13, 21];
    expect(layer.build(rt, [C, H, W])).toEqual([C, 1, 1]);
    const data = makeRandom(5).array(N * C * H * W);
    const gData = makeRandom(6).array(N * C);
    const x = rt.createTensor([N, C, H, W], data), g = rt.createTensor([N, C, 1, 1], gData);
    const { y, dx } = await rt.run('gap', (rec) => {
      const y = layer.forward(rec, x).output;
      return { y, dx: layer.backward(rec, g, { input: x, output: y }, 'deconvnet') };
    });
    expect(y.shape).toEqual([N, C, 1, 1]);
    const mean = reduceRef(data, [N, C, H, W], [N, C, 1, 1]).map((v) => v / (H * W));
    expectClose(await y.read(), mean, 'GlobalAvgPool2D forward');
    const spread = binaryRef('mul', gData, [N, C, 1, 1], Float64Array.of(1 / (H * W)), [1]);
    expectClose(await dx.read(), binaryRef('add', spread.y, spread.shape, new Float64Array(N * C * H * W), [N, C, H, W]).y, 'GlobalAvgPool2D backward');
    await releaseAll([x, g, y, dx]);
    expect(() => layer.build(rt, [3, 4])).toThrow(ShapeError);
  });

  it('GlobalMaxPool2D: maxima forward, the signal back to each argmax', async () => {
    const rt = await getRuntime();
    const layer: Layer = new GlobalMaxPool2D({ name: 'gmp' });
    const [C, H, W] = [3, 11, 19];
    expect(layer.build(rt, [C, H, W])).toEqual([C, 1, 1]);
    const plane = H * W;
    const data = makeRandom(9).array(N * C * plane);
    const gData = makeRandom(10).array(N * C);
    const x = rt.createTensor([N, C, H, W], data), g = rt.createTensor([N, C, 1, 1], gData);
    const { y, switches, dx } = await rt.run('gmp', (rec) => {
      const { output: y, switches } = layer.forward(rec, x);
      return { y, switches, dx: layer.backward(rec, g, { input: x, output: y, switches }, 'deconvnet') };
    });
    const maxRef = new Float64Array(N * C), dxRef = new Float64Array(N * C * plane);
    for (let m = 0; m < N * C; m++) {
      let best = 0;
      for (let i = 1; i < plane; i++) if (data[m * plane + i]! > data[m * plane + best]!) best = i;
      maxRef[m] = data[m * plane + best]!;
      dxRef[m * plane + best] = gData[m]!;
    }
    expectClose(await y.read(), maxRef, 'GlobalMaxPool2D forward');
    expectClose(await dx.read(), dxRef, 'GlobalMaxPool2D backward');
    await releaseAll([x, g, y, switches!, dx]);
    expect(() => layer.build(rt, [3, 4, 5, 6])).toThrow(/gmp: GlobalMaxPool2D needs a \[C, H, W\] input, got \[3,4,5,6\]/);
  });
});
