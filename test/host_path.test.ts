// The host side of a call: how many submits, maps, buffers, bind groups and
// compute passes a steady-state forward + projection + read costs, that error
// scopes nest inside a host's own, and that the cached bind groups survive
// trim(). Counts come from the runtime's stats and, independently, from
// wrapping the device's own methods; values from the float64 reference.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createModel, createDeconvNet, Conv2D, ReLU, MaxPool2D, Flatten, Dense, Softmax, type Model, type Runtime, type DeconvNet } from '../src/index.js';
import { getRuntime, expectClose } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { refForward, refProject, type RefLayer, type T } from './ref/net.js';

// conv-relu-pool-conv-relu-dense-softmax, batch 1: [2, 12, 12] -> 4x12x12 -> 4x6x6 -> 6x6x6 -> 216 -> 5
const SHAPE = [2, 12, 12];
const rnd = makeRandom(12);
const w1 = rnd.array(4 * 2 * 9, -0.5, 0.5), b1 = rnd.array(4, -0.1, 0.1);
const w2 = rnd.array(6 * 4 * 9, -0.5, 0.5), b2 = rnd.array(6, -0.1, 0.1);
const w3 = rnd.array(5 * 216, -0.2, 0.2), b3 = rnd.array(5, -0.1, 0.1);
const layers = () => [
  new Conv2D({ name: 'conv1', filters: 4, kernelSize: 3, padding: [1, 1, 1, 1], kernel: w1, bias: b1 }), new ReLU({ name: 'relu1' }),
  new MaxPool2D({ name: 'pool1', kernel: 2 }),
  new Conv2D({ name: 'conv2', filters: 6, kernelSize: 3, padding: [1, 1, 1, 1], kernel: w2, bias: b2 }), new ReLU({ name: 'relu2' }),
  new Flatten({ name: 'flatten' }), new Dense({ name: 'fc', units: 5, kernel: w3, bias: b3 }), new Softmax({ name: 'prob' }),
];
const ref: RefLayer[] = [
  { kind: 'conv', weight: w1, bias: b1, outC: 4, k: 3, stride: 1, pad: [1, 1, 1, 1], dilation: 1, groups: 1, relu: false }, { kind: 'relu' },
  { kind: 'maxpool', k: 2, stride: 2, pad: [0, 0, 0, 0] },
  { kind: 'conv', weight: w2, bias: b2, outC: 6, k: 3, stride: 1, pad: [1, 1, 1, 1], dilation: 1, groups: 1, relu: false }, { kind: 'relu' },
  { kind: 'flatten' }, { kind: 'dense', weight: w3, bias: b3, units: 5, relu: false }, { kind: 'softmax' },
];
const x = makeRandom(5).array(SHAPE.reduce((a, b) => a * b), 0, 1);
const saved = refForward(ref, { data: Float64Array.from(x), shape: [1, ...SHAPE] } as T);
const OPTIONS = { layer: 'relu2', channel: 3 } as const;
const refPixels = refProject(ref, saved, 4, 3, 'max', 'deconvnet').data;

let rt: Runtime;
let model: Model;
let deconv: DeconvNet;
beforeAll(async () => {
  rt = await getRuntime();
  model = createModel(rt, { inputShape: SHAPE, layers: layers() });
  deconv = createDeconvNet(model);
});
afterAll(() => model?.destroy());

/** forward + projection + readback of the projection, recorded into one submit. */
async function view(): Promise<Float32Array> {
  const out = await rt.run('forward + project + read', (rec) => {
    const fwd = model.forwardIn(rec, x);
    const proj = deconv.projectIn(rec, fwd, OPTIONS);
    return { fwd, proj, data: rec.read(proj.tensor) };
  });
  const data = await out.data;
  out.proj.release();
  out.fwd.release();
  return data;
}

/** Counts what `work` asks of the device by wrapping the device's own methods (not the library's counters). */
async function onDevice<T>(work: () => Promise<T>) {
  const device = rt.device;
  const seen = { submits: 0, mapAsync: 0, buffers: 0, bindGroups: 0, passes: 0 };
  const submit = device.queue.submit;
  const createBuffer = device.createBuffer;
  const createBindGroup = device.createBindGroup;
  const mapAsync = GPUBuffer.prototype.mapAsync;
  const beginComputePass = GPUCommandEncoder.prototype.beginComputePass;
  device.queue.submit = function (this: GPUQueue, ...a) { seen.submits++; return submit.apply(this, a); };
  device.createBuffer = function (this: GPUDevice, ...a) { seen.buffers++; return createBuffer.apply(this, a); };
  device.createBindGroup = function (this: GPUDevice, ...a) { seen.bindGroups++; return createBindGroup.apply(this, a); };
  GPUBuffer.prototype.mapAsync = function (this: GPUBuffer, ...a) { seen.mapAsync++; return mapAsync.apply(this, a); };
  GPUCommandEncoder.prototype.beginComputePass = function (this: GPUCommandEncoder, ...a) { seen.passes++; return beginComputePass.apply(this, a); };
  try {
    return { result: await work(), seen };
  } finally {
    delete (device.queue as Partial<GPUQueue>).submit;
    delete (device as Partial<GPUDevice>).createBuffer;
    delete (device as Partial<GPUDevice>).createBindGroup;
    GPUBuffer.prototype.mapAsync = mapAsync;
    GPUCommandEncoder.prototype.beginComputePass = beginComputePass;
  }
}

describe('host path of a small net', () => {
  it('forward + projection + read in steady state: 1 submit, 1 mapAsync, 1 compute pass, no buffer or bind group created', async () => {
    const first = await view();
    expectClose(first, refPixels, 'projection of relu2 #3');
    await view(); // warm-up: pipelines, pooled buffers, staging, bind groups
    const before = { ...rt.stats };
    const { result, seen } = await onDevice(view);
    expectClose(result, refPixels, 'projection in steady state');
    const stats = Object.fromEntries(Object.entries(rt.stats).map(([k, v]) => [k, v - before[k as keyof typeof before]]));
    expect(stats).toEqual({ submits: 1, readSubmits: 0, mapAsync: 1, buffersCreated: 0, bindGroupsCreated: 0, bytesRead: 4 * x.length });
    expect(seen).toEqual({ submits: 1, mapAsync: 1, buffers: 0, bindGroups: 0, passes: 1 });
  });

  it('predict in steady state: 1 submit, 1 mapAsync, nothing created', async () => {
    const probs = saved[saved.length - 1]!.output.data;
    expectClose(await model.predict(x), probs, 'probabilities');
    const { result, seen } = await onDevice(() => model.predict(x));
    expectClose(result, probs, 'probabilities in steady state');
    expect(seen).toEqual({ submits: 1, mapAsync: 1, buffers: 0, bindGroups: 0, passes: 1 });
  });

  it('the three-call path still reads what the one-submit path reads, and reuses its staging buffers', async () => {
    const fwd = await model.forward(x);
    const proj = await deconv.project(fwd, OPTIONS);
    const { result, seen } = await onDevice(() => proj.read());
    expectClose(result.data, refPixels, 'projection read on its own');
    // A read of work already submitted: one copy-only submit, one map, a pooled staging buffer.
    expect(seen).toEqual({ submits: 1, mapAsync: 1, buffers: 0, bindGroups: 0, passes: 0 });
    proj.release();
    fwd.release();
  });

  it('pops only its own error scopes: a scope the host pushes while a call is in flight stays the host\'s', async () => {
    const call = view();
    rt.device.pushErrorScope('validation');
    // An invalid buffer (MAP_READ with STORAGE) the host makes inside its own scope.
    rt.device.createBuffer({ size: 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE });
    expectClose(await call, refPixels, 'projection while the host holds a scope');
    const hostError = await rt.device.popErrorScope();
    expect(hostError, 'the host\'s scope caught the host\'s error').toBeInstanceOf(GPUValidationError);
  });

  it('bind groups of buffers freed by trim() are dropped: later calls make new ones and stay correct', async () => {
    await view();
    rt.trim(); // destroys every pooled buffer the cached bind groups bind
    const before = rt.stats.bindGroupsCreated;
    expectClose(await view(), refPixels, 'projection after trim');
    expect(rt.stats.bindGroupsCreated - before).toBeGreaterThan(0);
    await view(); // the pool hands buffers out in the reverse of the order they came back: two calls see every pairing
    const again = rt.stats.bindGroupsCreated;
    expectClose(await view(), refPixels, 'projection in steady state again');
    expect(rt.stats.bindGroupsCreated).toBe(again);
  });

  it('a failed recording rejects its pending read and releases what it recorded', async () => {
    const inUse = rt.bytesInUse;
    const run = rt.run('fails after recording', (rec) => {
      const fwd = model.forwardIn(rec, x);
      void rec.read(fwd.output);
      deconv.projectIn(rec, fwd, { layer: 'relu2', channel: 99 });
    });
    await expect(run).rejects.toThrow(/channel/);
    expect(rt.bytesInUse).toBe(inUse);
  });
});
