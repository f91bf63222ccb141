import { describe, expect, it } from 'vitest';
import { softmax, softmaxBackward, type SoftmaxAttrs } from '../src/ops/softmax.js';
import { OutOfRangeError, ShapeError } from '../src/gpu/errors.js';
import { getRuntime, expectClose } from './helpers/gpu.js';
import { expectError } from './helpers/errors.js';
import { makeRandom } from './helpers/random.js';
import { softmaxRef, softmaxGradNumeric, softmaxBackwardRef } from './ref/softmax.js';

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

interface Case { shape: number[]; axis?: number; range?: number; log?: boolean }

const name = (c: Case) => `${c.log ? 'log-softmax' : 'softmax'} [${c.shape}] axis ${c.axis ?? -1}${c.range ? ` values +-${c.range}` : ''}`;

const FORWARD: Case[] = [
  { shape: [1, 1] },
  { shape: [4, 1] },
  { shape: [3, 10] },
  { shape: [2, 1000] },
  { shape: [1, 100003] },
  { shape: [7] },
  { shape: [2, 5, 3, 4], axis: 1 },
  { shape: [2, 300, 2, 3], axis: 1 },
  { shape: [3, 4, 5, 6], axis: 2 },
  { shape: [3, 4, 5], axis: 0 },
  { shape: [3, 4, 5], axis: -3 },
  { shape: [2, 1, 3, 3], axis: 1 },
  { shape: [3, 1000], range: 80 },
  { shape: [2, 70, 3], axis: 1, range: 80 },
  { shape: [2, 500], range: 1000 },
];

describe('softmax forward', () => {
  FORWARD.flatMap((c) => [c, { ...c, log: true }]).forEach((c, i) => {
    it(name(c), async () => {
      const rt = await getRuntime();
      const r = c.range ?? 3;
      const data = makeRandom(40 + i).array(size(c.shape), -r, r);
      const x = rt.createTensor(c.shape, data);
      const attrs: SoftmaxAttrs = { log: c.log };
      if (c.axis !== undefined) attrs.axis = c.axis;
      const y = await rt.run(name(c), (rec) => softmax(rec, x, attrs));
      expect(y.shape).toEqual(c.shape);
      expectClose(await y.read(), softmaxRef(data, c.shape, c.axis ?? -1, !!c.log), name(c));
      x.release(); y.release();
    });
  });
});

describe('softmax over more than 65535 rows (the row index folds into y)', () => {
  it('forward and backward, [3, 70000] axis 0', async () => {
    const rt = await getRuntime();
    const shape = [3, 70000];
    const rnd = makeRandom(77);
    const xData = rnd.array(size(shape), -3, 3), gData = rnd.array(size(shape));
    const x = rt.createTensor(shape, xData), g = rt.createTensor(shape, gData);
    const [y, dx] = await rt.run('softmax fold', (rec) => {
      const out = softmax(rec, x, { axis: 0 });
      return [out, softmaxBackward(rec, g, out, { axis: 0 })];
    });
    const yRef = softmaxRef(xData, shape, 0);
    expectClose(await y.read(), yRef, 'softmax');
    expectClose(await dx.read(), softmaxBackwardRef(gData, yRef, shape, 0), 'softmax backward');
    for (const t of [x, g, y, dx]) t.release();
  });
});

const BACKWARD: Case[] = [
  { shape: [4, 1] },
  { shape: [3, 7] },
  { shape: [2, 300] },
  { shape: [2, 4, 3, 2], axis: 1 },
  { shape: [2, 3, 5], axis: 0 },
  { shape: [2, 40], range: 80 },
];

describe('softmax backward vs central differences of sum(g * softmax(x))', () => {
  BACKWARD.flatMap((c) => [c, { ...c, log: true }]).forEach((c, i) => {
    it(name(c), async () => {
      const rt = await getRuntime();
      const rnd = makeRandom(900 + i);
      const r = c.range ?? 3;
      const xData = rnd.array(size(c.shape), -r, r), gData = rnd.array(size(c.shape));
      const x = rt.createTensor(c.shape, xData), g = rt.createTensor(c.shape, gData);
      const attrs: SoftmaxAttrs = { log: c.log, axis: c.axis ?? -1 };
      const dx = await rt.run(name(c), (rec) => softmaxBackward(rec, g, rec.temp(softmax(rec, x, attrs)), attrs));
      expect(dx.shape).toEqual(c.shape);
      expectClose(await dx.read(), softmaxGradNumeric(xData, gData, c.shape, c.axis ?? -1, !!c.log), name(c));
      x.release(); g.release(); dx.release();
    });
  });
});


describe('softmax errors', () => {
  it('axis out of range', async () => {
    const rt = await getRuntime();
    const x = rt.createTensor([2, 3], new Float32Array(6));
    await expectError((rec) => softmax(rec, x, { axis: 2 }), OutOfRangeError, ['softmax', 'axis 2', '2-D']);
    await expectError((rec) => softmax(rec, x, { axis: -3 }), OutOfRangeError, ['softmax', 'axis -3']);
    await expectError((rec) => softmax(rec, x, { axis: 0.5 }), OutOfRangeError, ['softmax', '0.5']);
    await expectError((rec) => softmax(rec, x, { axis: 5, log: true }), OutOfRangeError, ['log-softmax', 'axis 5']);
    await expectError((rec) => softmaxBackward(rec, x, x, { axis: 2 }), OutOfRangeError, ['softmax backward', 'axis 2']);
  });

  it('backward with mismatched shapes', async () => {
    const rt = await getRuntime();
    const g = rt.createTensor([2, 3], new Float32Array(6)), y = rt.createTensor([3, 2], new Float32Array(6));
    await expectError((rec) => softmaxBackward(rec, g, y), ShapeError, ['softmax backward', '[2,3]', '[3,2]']);
  });
});
