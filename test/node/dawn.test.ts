// The core needs nothing but a GPUDevice: here it runs in Node on Dawn (the
// `webgpu` package) instead of Chromium. Skips with a message where Dawn finds
// no adapter (no Vulkan loader / ICD on this machine).
import { describe, it, expect } from 'vitest';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { installDawn } from '../../scripts/node-gpu.js';

const dawn = await installDawn();
const gpu = dawn && (await dawn.requestAdapter()) ? dawn : null;
if (!gpu) console.warn('test/node: skipped, Dawn found no WebGPU adapter (install libvulkan1 and a Vulkan ICD, or set VK_ICD_FILENAMES)');

describe.skipIf(!gpu)('the library in Node on Dawn', () => {
  it('runs forward and a gradient projection that match a direct CPU computation', async () => {
    const { createRuntime, createModel, createDeconvNet, Conv2D, MaxPool2D } = await import('../../src/index.js');
    const rt = await createRuntime({ gpu: gpu! });
    const kernel = Float32Array.from({ length: 2 * 1 * 3 * 3 }, (_, i) => ((i * 7) % 5) - 2);
    const model = createModel(rt, {
      inputShape: [1, 6, 6],
      layers: [
        new Conv2D({ name: 'conv', filters: 2, kernelSize: 3, activation: 'relu', kernel, useBias: false }),
        new MaxPool2D({ name: 'pool', kernel: 2 }),
      ],
    });
    const image = Float32Array.from({ length: 36 }, (_, i) => Math.sin(i));
    const fwd = await model.forward(image);

    // Direct valid 3x3 convolution + ReLU.
    const conv = new Float64Array(2 * 16);
    for (let m = 0; m < 2; m++) for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) {
      let s = 0;
      for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) s += image[(y + ky) * 6 + x + kx]! * kernel[m * 9 + ky * 3 + kx]!;
      conv[m * 16 + y * 4 + x] = Math.max(s, 0);
    }
    const gpuConv = await fwd.activation('conv').read();
    conv.forEach((v, i) => expect(gpuConv[i]).toBeCloseTo(v, 5));

    // d(strongest pooled activation of channel 1)/d(input): the 2x2 pools tile
    // the 4x4 map, so the winner is channel 1's largest conv output, and the
    // gradient is channel 1's filter placed there.
    let best = -1, at = [0, 0];
    for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) {
      if (conv[16 + y * 4 + x]! > best) { best = conv[16 + y * 4 + x]!; at = [y, x]; }
    }
    expect(best).toBeGreaterThan(0);
    const expected = new Float64Array(36);
    for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) expected[(at[0]! + ky) * 6 + at[1]! + kx] = kernel[9 + ky * 3 + kx]!;
    const proj = await createDeconvNet(model).project(fwd, { layer: 'pool', channel: 1, mode: 'gradient', seed: 'one' });
    const { data, shape } = await proj.read();
    expect(shape).toEqual([1, 1, 6, 6]);
    expected.forEach((v, i) => expect(data[i]).toBeCloseTo(v, 5));
    proj.release(); fwd.release(); model.destroy(); rt.destroy();
  });

  // Dawn's instance lives as long as the object create() returned; the
  // runtime holds it, else a collection frees it under the device and the
  // process dies (scripts/dawn-crash-case.ts: SIGSEGV, futex abort or hang),
  // which fails this file.
  it('keeps working after garbage collection when nothing but the runtime holds the GPU object', async () => {
    const { create } = await import('webgpu');
    const { createRuntime } = await import('../../src/index.js');
    const rt = await createRuntime({ gpu: create([]) as GPU });
    setFlagsFromString('--expose-gc');
    const collect = runInNewContext('gc') as () => void;
    for (let round = 0; round < 3; round++) {
      collect();
      // Finalizers run on a later turn of the event loop.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const data = Float32Array.from({ length: 4096 }, (_, i) => i * 0.5 + round);
      const tensor = rt.createTensor([4096], data);
      expect(await tensor.read()).toEqual(data);
      tensor.release();
    }
    rt.destroy();
  });
});
