// Transformed weights cached with their weight (src/gpu/derived.ts): the
// transpose of the vec4 / 'wt' kernels and the Winograd weight transform run
// once, not on every call; any write the library records into the weight
// (an optimizer step in place, runtime.writeTensor, a kernel writing it)
// bumps its version so the next call transforms it again; results are
// checked against the float64 convolution after each change.
import { afterAll, describe, expect, it, vi } from 'vitest';
import { conv2d } from '../src/ops/conv2d.js';
import { sgdStep, setHyper } from '../src/ops/optimizer.js';
import { createRuntime, writableBindings, type Runtime } from '../src/gpu/runtime.js';
import { Recorder } from '../src/gpu/recorder.js';
import { derivedTensor } from '../src/gpu/derived.js';
import { transpose } from '../src/ops/transpose.js';
import { createModel, Conv2D, MaxPool2D } from '../src/index.js';
import { getRuntime, expectClose, counted } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { conv2dRef } from './ref/conv.js';

type Shape4 = [number, number, number, number];
const size = (s: readonly number[]) => s.reduce((p, q) => p * q, 1);
const SAME = { stride: [1, 1] as [number, number], dilation: [1, 1] as [number, number], pads: [1, 1, 1, 1] as [number, number, number, number], groups: 1 };

const runtimes: Runtime[] = [];
async function pinned(variant: string): Promise<Runtime> {
  const base = await getRuntime();
  const rt = await createRuntime({ device: base.device, poisonNewTensors: true, kernelStyle: 'tiled', pinnedKernels: { conv2d: variant } });
  runtimes.push(rt);
  return rt;
}
afterAll(() => { for (const rt of runtimes) rt.destroy(); });

/** The passes that transform a weight: the vec4 kernels' transpose, Winograd's weight transform. */
const isWeightTransform = (key: string) => key === 'transpose' || key.startsWith('winograd-weights');

// Per variant: the passes of a call whose weight transform is cached ('direct-wt-16x32' shares
// tiled-vec4's cached transpose, src/ops/conv2d.ts weightIhwo).
const VARIANTS: Array<{ variant: string; passes: number }> = [
  { variant: 'tiled-vec4', passes: 1 },
  { variant: 'winograd-4x4', passes: 3 },
];

describe('transformed conv weights are cached until the weight changes', () => {
  for (const { variant, passes } of VARIANTS) {
    it(`${variant}: transformed once, reused, rebuilt after an SGD step in place and after writeTensor (float64 reference each time)`, async () => {
      const rt = await pinned(variant);
      const xs: Shape4 = [1, 12, 9, 11], ws: Shape4 = [20, 12, 3, 3];
      const rnd = makeRandom(4100);
      const xd = rnd.array(size(xs)), wd = rnd.array(size(ws), -0.3, 0.3), bd = rnd.array(20);
      const x = rt.createTensor(xs, xd), w = rt.createTensor(ws, wd), b = rt.createTensor([20], bd);
      const expectConv = async (weights: ArrayLike<number>, what: string) => {
        const call = await counted(rt, what, (rec) => conv2d(rec, x, w, b, { padding: 'same', activation: 'relu' }));
        expect(call.variants).toEqual([variant]);
        expectClose(await call.result.read(), conv2dRef(xd, xs, weights, ws, bd, { ...SAME, relu: true }), `${variant} ${what}`);
        call.result.release();
        return call.keys.filter(isWeightTransform).length;
      };

      expect(await expectConv(wd, 'first call')).toBe(1);
      const held = rt.bytesHeld, inUse = rt.bytesInUse, derived = rt.derivedBytes;
      expect(derived).toBeGreaterThan(0);
      const before = rt.derived.counts.builds;
      for (let i = 0; i < 3; i++) expect(await expectConv(wd, `call ${i + 2}`)).toBe(0);
      expect(rt.derived.counts.builds).toBe(before);
      const { passes: cachedPasses } = await counted(rt, 'cached', (rec) => rec.temp(conv2d(rec, x, w, b, { padding: 'same' })));
      expect(cachedPasses).toBe(passes);
      expect([rt.bytesHeld, rt.bytesInUse, rt.derivedBytes]).toEqual([held, inUse, derived]);

      // A training step in place: p -= lr * g (momentum 0).
      const gd = rnd.array(size(ws), -1, 1), lr = 0.05;
      const grad = rt.createTensor(ws, gd), velocity = rt.createTensor(ws, new Float32Array(size(ws))), hyper = rt.createTensor([4], new Float32Array(4));
      setHyper(hyper, [lr]);
      const versionBefore = w.version;
      await rt.run('sgd step', (rec) => sgdStep(rec, w, grad, velocity, hyper, { momentum: 0 }));
      expect(w.version).toBeGreaterThan(versionBefore);
      const stepped = Float64Array.from(wd, (v, i) => v - lr * gd[i]!);
      expect(await expectConv(stepped, 'after an SGD step')).toBe(1);
      expect(await expectConv(stepped, 'after an SGD step, again')).toBe(0);

      // An upload through the library.
      const written = rnd.array(size(ws), -0.3, 0.3);
      rt.writeTensor(w, written);
      expect(await expectConv(written, 'after writeTensor')).toBe(1);
      expect(rt.derivedBytes).toBe(derived);

      // Released with its weight.
      for (const t of [grad, velocity, hyper, w]) t.release();
      expect(rt.derivedBytes).toBe(0);
      for (const t of [x, b]) t.release();
    });
  }

  it('a write the library did not see is answered from the cache until markWritten() (so the cache is really what runs)', async () => {
    const rt = await pinned('tiled-vec4');
    const xs: Shape4 = [1, 5, 7, 6], ws: Shape4 = [9, 5, 3, 3];
    const rnd = makeRandom(4200);
    const xd = rnd.array(size(xs)), wd = rnd.array(size(ws), -0.3, 0.3), other = rnd.array(size(ws), -0.3, 0.3);
    const x = rt.createTensor(xs, xd), w = rt.createTensor(ws, wd);
    const run = async () => {
      const y = await rt.run('conv', (rec) => conv2d(rec, x, w, null, { padding: 'same' }));
      const data = await y.read();
      y.release();
      return data;
    };
    const ref = (weights: ArrayLike<number>) => conv2dRef(xd, xs, weights, ws, null, { ...SAME, relu: false });
    expectClose(await run(), ref(wd), 'first call');
    // As a host writing its own wrapped buffer would, behind the library's back.
    rt.device.queue.writeBuffer(w.buffer, 0, other.buffer, other.byteOffset, other.byteLength);
    expectClose(await run(), ref(wd), 'stale: the transposed weight of the first call');
    w.markWritten();
    expectClose(await run(), ref(other), 'after markWritten');
    for (const t of [x, w]) t.release();
  });

  it('a recording that built a transform and was abandoned leaves nothing cached: the next call builds it again', async () => {
    const rt = await pinned('tiled-vec4');
    const xs: Shape4 = [1, 4, 6, 6], ws: Shape4 = [8, 4, 3, 3];
    const rnd = makeRandom(4300);
    const xd = rnd.array(size(xs)), wd = rnd.array(size(ws), -0.3, 0.3);
    const x = rt.createTensor(xs, xd), w = rt.createTensor(ws, wd);
    const inUse = rt.bytesInUse;
    await expect(rt.run('abandoned', (rec) => {
      rec.own(conv2d(rec, x, w, null, { padding: 'same' }));
      throw new Error('stop');
    })).rejects.toThrow('stop');
    expect(rt.derivedBytes).toBe(0);
    expect(rt.bytesInUse).toBe(inUse);
    const call = await counted(rt, 'after abandon', (rec) => conv2d(rec, x, w, null, { padding: 'same' }));
    expect(call.keys.filter(isWeightTransform)).toEqual(['transpose']);
    expectClose(await call.result.read(), conv2dRef(xd, xs, wd, ws, null, { ...SAME, relu: false }), 'after abandon');
    for (const t of [x, w, call.result]) t.release();
  });

  it('derivedTensor: a view with another shape derives its own tensor; a build returning the source is refused', async () => {
    const rt = await pinned('tiled');
    const data = makeRandom(4400).array(24);
    const a = rt.createTensor([4, 6], data);
    const t1 = await rt.run('t1', (rec) => derivedTensor(rec, a, 'T', (r) => transpose(r, a, [1, 0])));
    const view = a.reshape([6, 4]);
    const t2 = await rt.run('t2', (rec) => derivedTensor(rec, view, 'T', (r) => transpose(r, view, [1, 0])));
    expect(t1.shape).toEqual([6, 4]);
    expect(t2.shape).toEqual([4, 6]);
    const ref1 = Array.from({ length: 24 }, (_, k) => data[(k % 4) * 6 + Math.floor(k / 4)]!);
    expectClose(await t1.read(), ref1, 'transpose of [4,6]');
    expectClose(await t2.read(), Array.from({ length: 24 }, (_, k) => data[(k % 6) * 4 + Math.floor(k / 6)]!), 'transpose of the [6,4] view');
    await expect(rt.run('self', (rec) => derivedTensor(rec, a, 'self', () => a))).rejects.toThrow(/build returned the source's own buffer/);
    a.release();
    expect(t1.released && t2.released).toBe(true);
    expect(rt.derivedBytes).toBe(0);
  });

  it('writableBindings reads the read_write storage bindings of a WGSL module', () => {
    const wgsl = `@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage,read_write> y: array<f32>;
@group(0) @binding(3)
var<storage, read_write> s: array<u32>;`;
    expect(writableBindings(wgsl)).toEqual([2, 3]);
  });
});

// VGG16's layer structure (13 3x3 'same' convolutions + ReLU, five 2x2 pools) with its channel
// counts divided by 8 to keep the test quick: the transform count is per convolution.
describe("VGG16's 13 convolutions (at 32x32, channels / 8): weight transforms per forward", () => {
  const blocks = [[8, 8], [16, 16], [32, 32, 32], [64, 64, 64], [64, 64, 64]];
  for (const variant of ['tiled-vec4', 'winograd-4x4']) {
    it(`${variant}: 13 on the first forward, 0 on the next (and the same output)`, async () => {
      const rt = await pinned(variant);
      const layers = [];
      let c = 3;
      for (const [b, block] of blocks.entries()) {
        for (const [i, filters] of block.entries()) {
          layers.push(new Conv2D({ name: `conv${b + 1}_${i + 1}`, filters, kernelSize: 3, padding: 'same', activation: 'relu', seed: 10 * b + i + 1 }));
          c = filters;
        }
        layers.push(new MaxPool2D({ name: `pool${b + 1}`, kernel: 2 }));
      }
      expect(c).toBe(64);
      const model = createModel(rt, { inputShape: [3, 32, 32], layers });
      const image = makeRandom(4500).array(3 * 32 * 32, 0, 1);
      const spy = vi.spyOn(Recorder.prototype, 'dispatch');
      const transformsOf = async () => {
        spy.mockClear();
        const fwd = await model.forward(image);
        const out = await fwd.output.read();
        fwd.release();
        return { transforms: spy.mock.calls.filter(([p]) => isWeightTransform(p.key)).length, out };
      };
      try {
        const first = await transformsOf();
        const second = await transformsOf();
        expect([first.transforms, second.transforms]).toEqual([13, 0]);
        expectClose(second.out, first.out, 'second forward');
      } finally {
        spy.mockRestore();
        model.destroy();
      }
      expect(rt.derivedBytes).toBe(0);
    }, 60_000);
  }
});
