// The README's example, as written there, runs and projects to the input's shape.
import { it, expect } from 'vitest';
import {
  createRuntime, createModel, createDeconvNet, projectionToImage,
  Conv2D, ReLU, MaxPool2D, LRN, Flatten, Dense, Softmax,
} from '../src/index.js';

it('README example', async () => {
  const runtime = await createRuntime();
  const model = createModel(runtime, {
    inputShape: [3, 64, 64],
    layers: [
      new Conv2D({ name: 'conv1', filters: 16, kernelSize: 7, stride: 2, padding: 'same' }),
      new ReLU(), new MaxPool2D({ name: 'pool1', kernel: 3, stride: 2 }), new LRN({ size: 5 }),
      new Conv2D({ name: 'conv2', filters: 32, kernelSize: 3, padding: 'same', activation: 'relu' }),
      new Flatten(), new Dense({ units: 10 }), new Softmax({ name: 'prob' }),
    ],
  });
  const images = Float32Array.from({ length: 2 * 3 * 64 * 64 }, () => Math.random());
  const fwd = await model.forward(images);
  const proj = await createDeconvNet(model).project(fwd, { layer: 'conv2', channel: 5, mode: 'deconvnet' });
  const { data, shape } = await proj.read();
  const picture = projectionToImage(data, shape, 0);
  expect(shape).toEqual([2, 3, 64, 64]);
  expect(data.some((v) => v !== 0)).toBe(true);
  expect([picture.width, picture.height]).toEqual([64, 64]);
  proj.release(); fwd.release();
  model.destroy();
  runtime.destroy();
});
