import { describe, it } from 'vitest';
import { activation, activationBackward, type ActivationKind } from '../src/index.js';
import { getRuntime, expectClose } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { activationRef, reluBackwardRef } from './ref/activation.js';

const SHAPES = [[1, 1, 1, 1], [2, 3, 7, 5], [1, 16, 17, 19], [3, 1000]];
const KINDS: ActivationKind[] = ['relu', 'leaky_relu', 'elu', 'sigmoid', 'tanh', 'clip'];

describe('activation forward', () => {
  for (const kind of KINDS) {
    for (const shape of SHAPES) {
      it(`${kind} [${shape}]`, async () => {
        const rt = await getRuntime();
        const rnd = makeRandom(shape.reduce((a, b) => a * b) + kind.length);
        const data = rnd.array(shape.reduce((a, b) => a * b), -3, 3);
        const attrs = { alpha: 0.2, min: -0.5, max: 1.5 };
        const x = rt.createTensor(shape, data);
        const y = await rt.run(kind, (rec) => activation(rec, x, { kind, ...attrs }));
        expectClose(await y.read(), activationRef(kind, data, attrs), kind);
        x.release(); y.release();
      });
    }
  }

  it('prelu with per-channel slopes', async () => {
    const rt = await getRuntime();
    const rnd = makeRandom(7);
    const shape = [2, 3, 5, 4];
    const data = rnd.array(120, -2, 2), slopes = rnd.array(3, 0, 0.5);
    const x = rt.createTensor(shape, data), s = rt.createTensor([3], slopes);
    const y = await rt.run('prelu', (rec) => activation(rec, x, { kind: 'prelu', slope: s }));
    expectClose(await y.read(), activationRef('prelu', data, { slope: slopes, channels: 3, plane: 20 }));
  });

  it('handles more than 65535 workgroups of elements (2-D dispatch)', async () => {
    const rt = await getRuntime();
    const n = 65535 * 256 + 1000;
    const data = makeRandom(3).array(n, -1, 1);
    const x = rt.createTensor([n], data);
    const y = await rt.run('relu big', (rec) => activation(rec, x, { kind: 'relu' }));
    expectClose(await y.read(), activationRef('relu', data));
    x.release(); y.release();
  });
});

describe('ReLU backward rules', () => {
  for (const rule of ['deconvnet', 'guided', 'gradient'] as const) {
    it(rule, async () => {
      const rt = await getRuntime();
      const rnd = makeRandom(11);
      const shape = [2, 5, 9, 7];
      const n = 630;
      const xData = rnd.array(n, -1, 1), gData = rnd.array(n, -1, 1);
      const x = rt.createTensor(shape, xData), g = rt.createTensor(shape, gData);
      const dx = await rt.run('relu backward', (rec) => {
        const y = rec.temp(activation(rec, x, { kind: 'relu' }));
        return activationBackward(rec, g, y, { kind: 'relu' }, rule);
      });
      expectClose(await dx.read(), reluBackwardRef(rule, gData, xData), rule);
    });
  }
});
