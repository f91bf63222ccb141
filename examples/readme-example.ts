// The README's "## Example", verbatim below this comment. e2e/package.spec.ts
// checks that the two are the same, then bundles this file with Vite in a
// fresh app that installed the packed tarball and runs it in headless Chromium.

import {
  createRuntime, createModel, createDeconvNet, projectionToImage,
  Conv2D, ReLU, MaxPool2D, LRN, Flatten, Dense, Softmax,
} from 'deconvnet-webgpu';

const runtime = await createRuntime();              // or createRuntime({ device }) to share your GPUDevice
const model = createModel(runtime, {
  inputShape: [3, 64, 64],
  layers: [                                         // no weights given: deterministic He-normal ones
    new Conv2D({ name: 'conv1', filters: 16, kernelSize: 7, stride: 2, padding: 'same' }),
    new ReLU(), new MaxPool2D({ name: 'pool1', kernel: 3, stride: 2 }), new LRN({ size: 5 }),
    new Conv2D({ name: 'conv2', filters: 32, kernelSize: 3, padding: 'same', activation: 'relu' }),
    new Flatten(), new Dense({ units: 10 }), new Softmax({ name: 'prob' }),
  ],
});
const images = Float32Array.from({ length: 2 * 3 * 64 * 64 }, () => Math.random()); // a batch of 2
const fwd = await model.forward(images);            // all activations and switches stay on the GPU
const proj = await createDeconvNet(model).project(fwd, { layer: 'conv2', channel: 5, mode: 'deconvnet' });
const { data, shape } = await proj.read();          // Float32Array, [2, 3, 64, 64]
const picture = projectionToImage(data, shape, 0);  // RGBA, grey-centred per image, as in the paper
proj.release(); fwd.release();
