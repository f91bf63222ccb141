// Resize2D inside a chain (conv -> nearest 2x3 upsample as TF.js UpSampling2D
// maps it -> conv): the gradient projection equals central differences of the
// model's own forward (the chain is linear in x, so they are exact up to
// rounding). tfjs 4.22's cpu tf.grad disagrees here; this is the check that
// the Resize2D backward, not tfjs, holds.
import { expect, it } from 'vitest';
import { createModel, Conv2D, Resize2D, createDeconvNet } from '../src/index.js';
import { getRuntime } from './helpers/gpu.js';

it('Resize2D backward in a chain equals finite differences of the forward', async () => {
  const rt = await getRuntime();
  const model = createModel(rt, { inputShape: [2, 4, 5], layers: [
    new Conv2D({ name: 'c1', filters: 3, kernelSize: 3, padding: 'same', seed: 3 }),
    new Resize2D({ name: 'up', mode: 'nearest', coordinateTransformation: 'asymmetric', nearestRounding: 'floor', size: [8, 15] }),
    new Conv2D({ name: 'c2', filters: 2, kernelSize: 3, seed: 5 }),
  ] });
  const x = Float32Array.from({ length: 40 }, (_, i) => Math.sin(i * 1.3));
  const fwd = await model.forward(x);
  const proj = await createDeconvNet(model).project(fwd, { layer: 'c2', channel: 1, position: { y: 3, x: 7 }, mode: 'gradient', seed: 'one' });
  const ours = (await proj.read()).data;
  proj.release();
  fwd.release();
  const at = async (xs: Float32Array) => (await model.predict(xs))[(1 * 6 + 3) * 13 + 7]!;
  const scale = Math.max(...Array.from(ours, Math.abs));
  expect(scale).toBeGreaterThan(0.1);
  for (let i = 0; i < 40; i++) {
    const up = Float32Array.from(x), down = Float32Array.from(x);
    up[i]! += 0.5; down[i]! -= 0.5;
    expect(Math.abs((await at(up)) - (await at(down)) - ours[i]!), `input ${i}`).toBeLessThan(1e-4 * scale + 1e-6);
  }
  model.destroy();
}, 120_000);
