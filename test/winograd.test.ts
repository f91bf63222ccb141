// Winograd F(m x m, 3 x 3) convolution (shaders/winograd.ts, src/ops/conv2d_winograd.ts):
// the transform matrices against the direct sum in float64, the GPU path
// against the float64 convolution references on VGG-like shapes, which
// shapes take it and which fall back, and the tuner skipping it where it
// does not apply. (Every conv variant also runs the shared cases of
// test/tuning.test.ts.)
import { describe, expect, it } from 'vitest';
import { WINOGRAD_MATRICES, winogradAlpha, type WinogradTile } from '../shaders/winograd.js';
import { conv2d, conv2dBackwardInput } from '../src/ops/conv2d.js';
import { conv2dTranspose } from '../src/ops/conv2d_transpose.js';
import { createRuntime, type Runtime } from '../src/gpu/runtime.js';
import { tuneModel } from '../src/deconv/tune_model.js';
import { OutOfRangeError } from '../src/gpu/errors.js';
import { defaultVariant } from '../src/gpu/tuning.js';
import { createModel, createDeconvNet, Conv2D, MaxPool2D, Flatten, Dense } from '../src/index.js';
import { getRuntime, expectClose, counted } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { conv2dRef, conv2dTransposeRef } from './ref/conv.js';

const TILES: WinogradTile[] = [2, 4];

const matVec = (m: number[][], v: number[]) => m.map((row) => row.reduce((s, c, k) => s + c * v[k]!, 0));

describe('Winograd transform matrices', () => {
  for (const tile of TILES) {
    it(`F(${tile}, 3): A^T [(G g) . (B^T d)] is the correlation of d with g (float64)`, () => {
      const { bT, g: G, aT } = WINOGRAD_MATRICES[tile];
      const a = winogradAlpha(tile);
      expect(bT.length).toBe(a);
      expect(G.length).toBe(a);
      expect(aT.length).toBe(tile);
      const rnd = makeRandom(31 + tile);
      for (let trial = 0; trial < 20; trial++) {
        const d = Array.from(rnd.array(a)), g = Array.from(rnd.array(3));
        const u = matVec(G, g), v = matVec(bT, d);
        const y = matVec(aT, u.map((ui, i) => ui * v[i]!));
        const direct = Array.from({ length: tile }, (_, i) => d[i]! * g[0]! + d[i + 1]! * g[1]! + d[i + 2]! * g[2]!);
        y.forEach((yi, i) => expect(Math.abs(yi - direct[i]!)).toBeLessThan(1e-12));
      }
    });
  }
});

const pinnedRuntimes = new Map<string, Promise<Runtime>>();
function pinned(pins: Record<string, string>, options: { maxBindingSize?: number } = {}): Promise<Runtime> {
  const key = JSON.stringify([pins, options]);
  let rt = pinnedRuntimes.get(key);
  if (!rt) {
    rt = getRuntime().then((base) => createRuntime({ device: base.device, poisonNewTensors: true, pinnedKernels: pins, ...options }));
    pinnedRuntimes.set(key, rt);
  }
  return rt;
}

type Shape4 = [number, number, number, number];
const size = (s: readonly number[]) => s.reduce((p, q) => p * q, 1);

describe('Winograd convolution on the GPU', () => {
  for (const tile of TILES) {
    const variant = `winograd-${tile}x${tile}`;

    it(`${variant}: VGG-like 3x3 'same' + ReLU, 32 -> 48 channels at 23x21, batch 2, in 4 passes`, async () => {
      const rt = await pinned({ conv2d: variant });
      const xs: Shape4 = [2, 32, 23, 21], ws: Shape4 = [48, 32, 3, 3];
      const rnd = makeRandom(900 + tile);
      const xd = rnd.array(size(xs)), wd = rnd.array(size(ws), -0.2, 0.2), bd = rnd.array(48);
      const x = rt.createTensor(xs, xd), w = rt.createTensor(ws, wd), b = rt.createTensor([48], bd);
      // Weight, input and output transforms around one matrix-product pass.
      const { result: y, passes, submits, variants } = await counted(rt, variant, (rec) => conv2d(rec, x, w, b, { padding: 'same', activation: 'relu' }));
      expect(variants).toEqual([variant]);
      expect(passes).toBe(4);
      expect(submits).toBe(1);
      const ref = conv2dRef(xd, xs, wd, ws, bd, { stride: [1, 1], dilation: [1, 1], pads: [1, 1, 1, 1], groups: 1, relu: true });
      expectClose(await y.read(), ref, variant);
      for (const t of [x, w, b, y]) t.release();
    });

    it(`${variant}: a deep layer (256 -> 64 channels, K = 2304) at 12x12 stays within the accuracy bar`, async () => {
      const rt = await pinned({ conv2d: variant });
      const xs: Shape4 = [1, 256, 12, 12], ws: Shape4 = [64, 256, 3, 3];
      const rnd = makeRandom(960 + tile);
      // He-style weight scale, as in a trained net: the sums stay O(1) while the terms cancel.
      const xd = rnd.array(size(xs), 0, 1), wd = rnd.array(size(ws), -0.06, 0.06), bd = rnd.array(64, -0.1, 0.1);
      const x = rt.createTensor(xs, xd), w = rt.createTensor(ws, wd), b = rt.createTensor([64], bd);
      const { result: y, variants } = await counted(rt, variant, (rec) => conv2d(rec, x, w, b, { padding: 'same' }));
      expect(variants).toEqual([variant]);
      const ref = conv2dRef(xd, xs, wd, ws, bd, { stride: [1, 1], dilation: [1, 1], pads: [1, 1, 1, 1], groups: 1, relu: false });
      expectClose(await y.read(), ref, `${variant} deep layer`);
      for (const t of [x, w, b, y]) t.release();
    });

    it(`${variant}: the DeconvNet filter step (conv2d backward = stride-1 transposed conv) with the flipped filter`, async () => {
      const rt = await pinned({ conv2dTranspose: variant });
      const xShape: Shape4 = [1, 20, 15, 17], ws: Shape4 = [28, 20, 3, 3], gs: Shape4 = [1, 28, 15, 17];
      const rnd = makeRandom(910 + tile);
      const wd = rnd.array(size(ws), -0.3, 0.3), gd = rnd.array(size(gs));
      const w = rt.createTensor(ws, wd), g = rt.createTensor(gs, gd);
      const { result: dx, passes, variants } = await counted(rt, variant, (rec) => conv2dBackwardInput(rec, g, w, xShape, { padding: 'same' }));
      expect(variants).toEqual([variant]);
      expect(passes).toBe(4);
      expect(dx.shape).toEqual(xShape);
      const ref = conv2dTransposeRef(gd, gs, wd, ws, null, { stride: [1, 1], dilation: [1, 1], padBegin: [1, 1], groups: 1, outH: 15, outW: 17 });
      expectClose(await dx.read(), ref, `${variant} backward`);
      for (const t of [w, g, dx]) t.release();
    });
  }

  it("on the 'tiled' kernel family the products run on the vec4 tiled kernel (forward and transposed)", async () => {
    const base = await getRuntime();
    const rt = await createRuntime({ device: base.device, poisonNewTensors: true, kernelStyle: 'tiled', pinnedKernels: { conv2d: 'winograd-4x4', conv2dTranspose: 'winograd-2x2' } });
    const rnd = makeRandom(950);
    // 36 output channels (channel quads), 10 (scalar weight rows): both B paths of the vec4 kernel.
    for (const m of [36, 10]) {
      const xs: Shape4 = [2, 12, 13, 9], ws: Shape4 = [m, 12, 3, 3];
      const xd = rnd.array(size(xs)), wd = rnd.array(size(ws), -0.3, 0.3), bd = rnd.array(m);
      const x = rt.createTensor(xs, xd), w = rt.createTensor(ws, wd), b = rt.createTensor([m], bd);
      const { result: y, passes, variants, keys } = await counted(rt, 'tiled family', (rec) => conv2d(rec, x, w, b, { padding: 'same', activation: 'relu' }));
      expect(variants).toEqual(['winograd-4x4']);
      expect(keys.filter((k) => k.startsWith('conv2d:vec4/')), 'the products on the vec4 tiled kernel').toHaveLength(1);
      expect(passes).toBe(4);
      expectClose(await y.read(), conv2dRef(xd, xs, wd, ws, bd, { stride: [1, 1], dilation: [1, 1], pads: [1, 1, 1, 1], groups: 1, relu: true }), `tiled family forward, ${m} channels`);
      const { result: dx, passes: back, variants: backVariants, keys: backKeys } = await counted(rt, 'tiled family backward', (rec) => conv2dBackwardInput(rec, y, w, xs, { padding: 'same' }));
      expect(backVariants).toEqual(['winograd-2x2']);
      expect(backKeys.filter((k) => k.startsWith('conv2d:vec4/')), 'the products on the vec4 tiled kernel').toHaveLength(1);
      expect(back).toBe(4);
      const yd = await y.read();
      expectClose(await dx.read(), conv2dTransposeRef(yd, [2, m, 13, 9], wd, ws, null, { stride: [1, 1], dilation: [1, 1], padBegin: [1, 1], groups: 1, outH: 13, outW: 9 }), `tiled family backward, ${m} channels`);
      for (const t of [x, w, b, y, dx]) t.release();
    }
    rt.destroy();
  });

  it('falls back to the adapter default for shapes it does not compute (stride 2, 5x5, groups, a binding too small)', async () => {
    const rnd = makeRandom(920);
    const cases = [
      { xs: [1, 4, 11, 11] as Shape4, ws: [6, 4, 3, 3] as Shape4, attrs: { stride: 2 as const, padding: 'same' as const }, pads: [1, 1, 1, 1] as [number, number, number, number], stride: [2, 2] as [number, number], groups: 1 },
      { xs: [1, 4, 9, 9] as Shape4, ws: [6, 4, 5, 5] as Shape4, attrs: { padding: 'same' as const }, pads: [2, 2, 2, 2] as [number, number, number, number], stride: [1, 1] as [number, number], groups: 1 },
      { xs: [1, 4, 9, 9] as Shape4, ws: [6, 2, 3, 3] as Shape4, attrs: { padding: 'same' as const, groups: 2 }, pads: [1, 1, 1, 1] as [number, number, number, number], stride: [1, 1] as [number, number], groups: 2 },
    ];
    const rt = await pinned({ conv2d: 'winograd-4x4' });
    for (const c of cases) {
      const xd = rnd.array(size(c.xs)), wd = rnd.array(size(c.ws));
      const x = rt.createTensor(c.xs, xd), w = rt.createTensor(c.ws, wd);
      const { result: y, passes, variants } = await counted(rt, 'fallback', (rec) => conv2d(rec, x, w, null, c.attrs));
      expect(variants, JSON.stringify(c.ws)).toEqual([defaultVariant('conv2d', rt.kernelStyle)]);
      expect(passes, JSON.stringify(c.ws)).toBe(1);
      const ref = conv2dRef(xd, c.xs, wd, c.ws, null, { stride: c.stride, dilation: [1, 1], pads: c.pads, groups: c.groups, relu: false });
      expectClose(await y.read(), ref, `fallback ${JSON.stringify(c.attrs)}`);
      for (const t of [x, w, y]) t.release();
    }
    // The transformed input of 64 channels at 40x40 (F(4x4): 36 x 64 x 100 tiles x 4 B = 0.9 MB) over a 512 KiB binding.
    const small = await pinned({ conv2d: 'winograd-4x4' }, { maxBindingSize: 512 * 1024 });
    const xs: Shape4 = [1, 64, 40, 40], ws: Shape4 = [8, 64, 3, 3];
    const xd = rnd.array(size(xs)), wd = rnd.array(size(ws), -0.1, 0.1);
    const x = small.createTensor(xs, xd), w = small.createTensor(ws, wd);
    const { result: y, passes, variants } = await counted(small, 'binding limit', (rec) => conv2d(rec, x, w, null, { padding: 'same' }));
    expect(variants).toEqual([defaultVariant('conv2d', small.kernelStyle)]);
    expect(passes).toBe(1);
    expectClose(await y.read(), conv2dRef(xd, xs, wd, ws, null, { stride: [1, 1], dilation: [1, 1], pads: [1, 1, 1, 1], groups: 1, relu: false }), 'binding limit');
    for (const t of [x, w, y]) t.release();
  });

  it('transposed convolutions at stride 2 fall back too', async () => {
    const rt = await pinned({ conv2dTranspose: 'winograd-2x2' });
    const rnd = makeRandom(930);
    const xs: Shape4 = [1, 3, 5, 4], ws: Shape4 = [3, 5, 3, 3];
    const xd = rnd.array(size(xs)), wd = rnd.array(size(ws));
    const x = rt.createTensor(xs, xd), w = rt.createTensor(ws, wd);
    const { result: y, passes, variants } = await counted(rt, 'stride 2', (rec) => conv2dTranspose(rec, x, w, null, { stride: 2 }));
    expect(variants).toEqual([defaultVariant('conv2dTranspose', rt.kernelStyle)]);
    expect(passes).toBe(1);
    expectClose(await y.read(), conv2dTransposeRef(xd, xs, wd, ws, null, { stride: [2, 2], dilation: [1, 1], padBegin: [0, 0], groups: 1, outH: 11, outW: 9 }), 'stride 2');
    for (const t of [x, w, y]) t.release();
  });

  it('holds no more GPU memory after 30 forward + projection calls than after 2 (the transforms\' scratch goes back to the pool)', async () => {
    const base = await getRuntime();
    const rt = await createRuntime({ device: base.device, pinnedKernels: { conv2d: 'winograd-4x4', conv2dTranspose: 'winograd-2x2' } });
    const rnd = makeRandom(970);
    const model = createModel(rt, {
      inputShape: [3, 16, 16],
      layers: [
        new Conv2D({ name: 'conv1', filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', kernel: rnd.array(8 * 27, -0.5, 0.5) }),
        new MaxPool2D({ name: 'pool1', kernel: 2 }),
        new Conv2D({ name: 'conv2', filters: 12, kernelSize: 3, padding: 'same', activation: 'relu', kernel: rnd.array(12 * 72, -0.3, 0.3) }),
      ],
    });
    const deconv = createDeconvNet(model);
    const image = rnd.array(3 * 16 * 16, 0, 1);
    let held = 0;
    for (let i = 0; i < 30; i++) {
      const fwd = await model.forward(image);
      // One channel throughout: other channels would add their (bounded, content-keyed) uniform buffers.
      const proj = await deconv.project(fwd, { layer: 'conv2', channel: 3 });
      proj.release();
      fwd.release();
      if (i === 1) held = rt.bytesHeld;
    }
    expect(rt.bytesHeld).toBe(held);
    rt.destroy();
  });

  it('the tuner times Winograd only on the shapes it computes, and refuses a candidate list with nothing usable', async () => {
    const base = await getRuntime();
    const rt = await createRuntime({ device: base.device, poisonNewTensors: true });
    const rnd = makeRandom(940);
    const model = createModel(rt, {
      inputShape: [3, 12, 12],
      layers: [
        new Conv2D({ name: 'same3x3', filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', kernel: rnd.array(8 * 27, -0.5, 0.5) }),
        new Conv2D({ name: 'stride2', filters: 8, kernelSize: 3, stride: 2, padding: 'same', kernel: rnd.array(8 * 72, -0.3, 0.3) }),
        new MaxPool2D({ name: 'pool', kernel: 2 }),
        new Flatten({ name: 'flat' }),
        new Dense({ name: 'fc', units: 4, kernel: rnd.array(4 * 72, -0.1, 0.1) }),
      ],
    });
    const results = await tuneModel(model, 1, { candidates: { conv2d: ['direct', 'winograd-2x2', 'winograd-4x4'], conv2dTranspose: ['direct'], matmul: ['tiled'] } });
    const convs = results.filter((r) => r.op === 'conv2d');
    expect(convs.length).toBe(2);
    const stride1 = convs.find((r) => r.shapeKey.includes(' s1,1 '))!, stride2 = convs.find((r) => r.shapeKey.includes(' s2,2 '))!;
    expect(Object.keys(stride1.ms).sort()).toEqual(expect.arrayContaining(['direct']));
    expect(Object.keys(stride1.ms).some((v) => v.startsWith('winograd'))).toBe(true);
    expect(Object.keys(stride2.ms)).toEqual(['direct']);
    await expect(tuneModel(model, 1, { force: true, candidates: { conv2d: ['winograd-4x4'], conv2dTranspose: ['direct'], matmul: ['tiled'] } }))
      .rejects.toThrow(OutOfRangeError);
    rt.destroy();
  });
});
