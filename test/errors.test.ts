// Bad input gets a typed error that names what is wrong; nothing hangs or leaks.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import {
  createRuntime, createModel, createDeconvNet, Conv2D, ReLU, MaxPool2D, Flatten, Dense,
  OutOfRangeError, ShapeError, DeviceLimitError, DeviceLostError, GpuValidationError, DestroyedError,
  type Runtime, type Model,
} from '../src/index.js';
import { getRuntime } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';

const smallNet = () => [
  new Conv2D({ name: 'conv', filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', seed: 1 }),
  new MaxPool2D({ name: 'pool', kernel: 3, stride: 2 }),
  new Flatten({ name: 'flat' }),
  new Dense({ name: 'fc', units: 3, seed: 2 }),
];

let rt: Runtime;
let model: Model;
const image = makeRandom(1).array(2 * 9 * 9, 0, 1);
beforeAll(async () => {
  rt = await getRuntime();
  model = createModel(rt, { inputShape: [2, 9, 9], layers: smallNet() });
});
afterAll(() => model.destroy());

async function rejects(p: Promise<unknown> | (() => unknown), type: Function, pattern: RegExp) {
  let error: unknown;
  try { await (typeof p === 'function' ? p() : p); } catch (e) { error = e; }
  expect(error, `expected a ${type.name}`).toBeInstanceOf(type);
  expect((error as Error).message).toMatch(pattern);
}

describe('typed errors', () => {
  it('layer out of range, by index and by name', async () => {
    const fwd = await model.forward(image);
    const deconv = createDeconvNet(model);
    await rejects(deconv.project(fwd, { layer: 7, channel: 0 }), OutOfRangeError, /layer 7 .*4 layers \(0\.\.3\)/);
    await rejects(deconv.project(fwd, { layer: 'conv9', channel: 0 }), OutOfRangeError, /no layer is named "conv9"; layers: conv, pool, flat, fc/);
    fwd.release();
  });

  it('channel and position out of range', async () => {
    const fwd = await model.forward(image);
    const deconv = createDeconvNet(model);
    await rejects(deconv.project(fwd, { layer: 'pool', channel: 4 }), OutOfRangeError, /pool: channel 4 .* 4 channels \(0\.\.3\)/);
    await rejects(deconv.project(fwd, { layer: 'pool', channel: 0, position: { y: 4, x: 0 } }), OutOfRangeError, /y=4, x=0.*4x4 feature map/);
    await rejects(deconv.project(fwd, { layer: 'fc', channel: -1 }), OutOfRangeError, /fc: channel -1/);
    fwd.release();
  });

  it('input of the wrong shape', async () => {
    await rejects(model.forward(new Float32Array(100)), ShapeError, /100 values, not a multiple of one image \[2,9,9\] = 162/);
    const wrong = rt.createTensor([1, 3, 9, 9], new Float32Array(243));
    await rejects(model.forward(wrong), ShapeError, /input is \[1,3,9,9\], the model takes \[N, 2,9,9\]/);
    wrong.release();
  });

  it('layers that do not fit their input', () => {
    expect(() => createModel(rt, { inputShape: [3, 8, 8], layers: [new Conv2D({ filters: 2, kernelSize: 3, kernel: new Float32Array(5) })] }))
      .toThrow(/kernel has 5 values, \[2,3,3,3\] needs 54/);
    expect(() => createModel(rt, { inputShape: [3, 8, 8], layers: [new Dense({ units: 4 })] })).toThrow(ShapeError);
    expect(() => createModel(rt, { inputShape: [1, 4, 4], layers: [new MaxPool2D({ kernel: 5, stride: 1 })] })).toThrow(ShapeError);
  });

  it('a tensor over the device limit names the layer and the numbers', async () => {
    const limited = await createRuntime({ device: rt.device, maxBindingSize: 4096 });
    const m = createModel(limited, { inputShape: [2, 9, 9], layers: smallNet() });
    // 2 images: input 1296 bytes; conv output 2*4*81*4 = 2592 bytes; 4 images: conv output 5184 > 4096.
    await expect(m.forward(new Float32Array(2 * 162))).resolves.toBeTruthy();
    await rejects(m.forward(new Float32Array(4 * 162)), DeviceLimitError, /conv.*\[4,4,9,9\] needs 5184 bytes.*4096/);
    expect(() => limited.createTensor([2000], undefined)).toThrow(/8000 bytes/);
    m.destroy();
    limited.destroy();
    expect(rt.device.limits.maxBufferSize).toBeGreaterThan(0); // the borrowed device is still alive
  });

  it('a shader that does not compile rejects with the operation and the WGSL error', async () => {
    await rejects(rt.run('broken kernel', (rec) => rec.dispatch({
      name: 'broken', key: 'test:broken', shader: () => 'fn main() { let x: f32 = 1u; }',
      params: new ArrayBuffer(16), buffers: [], dispatch: [1, 1, 1],
    })), GpuValidationError, /broken kernel: WebGPU validation error/);
  });

  it('using a released forward result', async () => {
    const fwd = await model.forward(image);
    fwd.release();
    await rejects(createDeconvNet(model).project(fwd, { layer: 'conv', channel: 0 }), DestroyedError, /released/);
  });

  it('a lost device: every later call rejects with DeviceLostError, nothing hangs', async () => {
    const own = await createRuntime();
    const m = createModel(own, { inputShape: [2, 9, 9], layers: smallNet() });
    const fwd = await m.forward(image);
    own.device.destroy();
    await own.device.lost;
    await rejects(m.forward(image), DeviceLostError, /forward: GPU device lost/);
    await rejects(createDeconvNet(m).project(fwd, { layer: 'conv', channel: 0 }), DeviceLostError, /device lost/);
    await rejects(fwd.readOutput(), DeviceLostError, /device lost/);
    own.destroy();
  });

  it('an error scope that cannot be popped (the instance dropped) is a DeviceLostError naming the operation', async () => {
    const own = await createRuntime();
    const m = createModel(own, { inputShape: [2, 9, 9], layers: smallNet() });
    const pop = own.device.popErrorScope.bind(own.device);
    // What Chromium answers once its WebGPU instance is gone; the scopes themselves still pop.
    own.device.popErrorScope = () => pop().then(() => { throw new DOMException('A valid external Instance reference no longer exists.', 'OperationError'); });
    await rejects(m.forward(image), DeviceLostError, /forward.*GPU device lost \(A valid external Instance reference/);
    own.device.popErrorScope = pop;
    m.destroy();
    own.destroy();
  });
});

describe('GPU memory', () => {
  it('stays flat over 1,000 forward + project calls', async () => {
    const deconv = createDeconvNet(model);
    const run = async (i: number) => {
      const fwd = await model.forward(image);
      const proj = await deconv.project(fwd, { layer: i % 2 ? 'pool' : 'fc', channel: i % 3, mode: i % 3 ? 'guided' : 'deconvnet' });
      proj.release();
      fwd.release();
    };
    for (let i = 0; i < 6; i++) await run(i); // warm the pools and uniform caches
    const held = rt.bytesHeld;
    for (let i = 0; i < 1000; i++) await run(i);
    expect(rt.bytesHeld).toBe(held);
    // and the last result is still right: a read works and is finite
    const fwd = await model.forward(image);
    expect((await fwd.readOutput()).every(Number.isFinite)).toBe(true);
    fwd.release();
  });

  it('destroy() frees what the runtime created', async () => {
    const own = await createRuntime({ device: rt.device });
    const m = createModel(own, { inputShape: [2, 9, 9], layers: smallNet() });
    (await m.forward(image)).release();
    expect(own.bytesHeld).toBeGreaterThan(0);
    own.destroy();
    expect(own.bytesHeld).toBe(0);
    await rejects(m.forward(image), DestroyedError, /runtime was destroyed/);
  });
});

describe('uniform cache', () => {
  it('is bounded: evicted uniforms are freed after the submit that may still use them', async () => {
    const base = await getRuntime();
    const rt = await createRuntime({ device: base.device, maxCachedUniforms: 8, poisonNewTensors: true });
    const { activation } = await import('../src/index.js');
    // 20 different sizes -> 20 different parameter blocks, all in one recording.
    const inputs = Array.from({ length: 20 }, (_, i) => rt.createTensor([i + 1], Float32Array.from({ length: i + 1 }, (_, k) => k - i / 2)));
    const outputs = await rt.run('many uniforms', (rec) => inputs.map((x) => activation(rec, x, { kind: 'relu' })));
    for (let i = 0; i < 20; i++) {
      expect(Array.from(await outputs[i]!.read())).toEqual(Array.from({ length: i + 1 }, (_, k) => Math.max(k - i / 2, 0)));
    }
    const tensorBytes = [...inputs, ...outputs].reduce((s, t) => s + t.byteLength, 0);
    expect(rt.bytesHeld - tensorBytes).toBeLessThanOrEqual(8 * 32); // at most 8 cached uniforms of 32 bytes
    rt.destroy();
  });
});
