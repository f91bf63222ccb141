// Sparse projection (src/deconv/sparse.ts): a projection from one position
// per image runs each layer on the window its receptive field reaches. It
// must equal the float64 reference and the dense walk (sparse: false) in every
// mode, for seeds at corners, edges and the centre, through strided, padded
// (asymmetric), dilated and grouped convolutions, overlapping pooling, and a
// graph model whose branches hand the walk over to the dense path.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import {
  Add, Conv2D, MaxPool2D, ReLU, createDeconvNet, createModel, type Model, type Runtime,
} from '../src/index.js';
import { counted, expectClose, getRuntime } from './helpers/gpu.js';
import { conv2dTranspose } from '../src/ops/conv2d_transpose.js';
import { cropWindow, inputWindow, placeWindow, rectifyWindow, transposeWindow, unpoolWindow, type WindowLevel, type WindowRule } from '../src/ops/window.js';
import { ShapeError } from '../src/gpu/errors.js';
import { kernelKey } from '../shaders/kernel.js';
import { makeRandom } from './helpers/random.js';
import { refForward, refProject, type Mode, type T } from './ref/net.js';
import { twinChain as chain, twinConv as conv, twinPool as pool, twinRelu as relu, type TwinNet as Net } from './helpers/ref_layers.js';

const MODES: Mode[] = ['deconvnet', 'guided', 'gradient'];
const TOL = { rel: 1e-5, elem: 1e-4 };

/** Strided, asymmetrically padded, dilated and grouped convolutions with overlapping and padded pooling. */
function stridedNet(): Net {
  const rnd = makeRandom(31);
  return chain('strided padded net', [3, 23, 21], [
    conv(rnd, 'c1', { inC: 3, outC: 5, k: 3, pad: [1, 1, 1, 1], relu: true }),          // 23x21
    pool('p1', 2, 2),                                                                       // 11x10
    conv(rnd, 'c2', { inC: 5, outC: 6, k: 3, stride: 2, pad: [1, 0, 2, 1] }),              // 6x5
    relu('r2'),
    conv(rnd, 'c3', { inC: 6, outC: 4, k: 3, dilation: 2, groups: 2, pad: [2, 2, 2, 2] }), // 6x5
    relu('r3'),
    pool('p3', 3, 2, [1, 1, 1, 1]),                                                         // 3x3
  ]);
}

/** Tiny VGG's shape (valid 3x3 convs with ReLU layers, two 2x2 pools), smaller. */
function tinyVggLike(): Net {
  const rnd = makeRandom(32);
  return chain('Tiny VGG-like', [3, 30, 30], [
    conv(rnd, 'conv_1_1', { inC: 3, outC: 6, k: 3 }), relu('relu_1_1'),        // 28
    conv(rnd, 'conv_1_2', { inC: 6, outC: 6, k: 3 }), relu('relu_1_2'),        // 26
    pool('max_pool_1', 2, 2),                                                   // 13
    conv(rnd, 'conv_2_1', { inC: 6, outC: 5, k: 3 }), relu('relu_2_1'),        // 11
    conv(rnd, 'conv_2_2', { inC: 5, outC: 5, k: 3 }), relu('relu_2_2'),        // 9
  ]);
}

const BATCH = 2;

interface Built { net: Net; model: Model; input: Float32Array; saved: ReturnType<typeof refForward> }

async function build(rt: Runtime, net: Net, seed: number): Promise<Built> {
  const model = createModel(rt, { inputShape: net.inputShape, layers: net.layers() });
  const input = makeRandom(seed).array(BATCH * net.inputShape.reduce((a, b) => a * b), 0, 1);
  const t: T = { data: Float64Array.from(input), shape: [BATCH, ...net.inputShape] };
  return { net, model, input, saved: refForward(net.ref, t) };
}

/** Projections of `layer` with and without windows, and the keys of the kernels the sparse one ran. */
async function both(b: Built, layer: string, channel: number, position: 'max' | { y: number; x: number } | Array<{ y: number; x: number }>, mode: Mode) {
  const { model } = b;
  const deconv = createDeconvNet(model);
  const fwd = await model.forward(b.input);
  try {
    const { result: sparse, keys } = await counted(model.runtime, 'sparse', (rec) => deconv.projectIn(rec, fwd, { layer, channel, position, mode }));
    const dense = await deconv.project(fwd, { layer, channel, position, mode, sparse: false });
    const out = { sparse: (await sparse.read()).data, dense: (await dense.read()).data, keys, positions: await sparse.positions() };
    sparse.release(); dense.release();
    return out;
  } finally {
    fwd.release();
  }
}

/** The float64 reference, per image at its own position. */
function reference(b: Built, layer: string, channel: number, positions: Array<{ y: number; x: number }>, mode: Mode): Float64Array {
  const top = b.model.layerIndex(layer);
  const per = b.net.inputShape.reduce((p, d) => p * d, 1);
  const out = new Float64Array(BATCH * per);
  positions.forEach((pos, n) => out.set(refProject(b.net.ref, b.saved, top, channel, pos, mode).data.subarray(n * per, (n + 1) * per), n * per));
  return out;
}

let rt: Runtime;
const built: Built[] = [];
beforeAll(async () => {
  rt = await getRuntime();
  built.push(await build(rt, stridedNet(), 5), await build(rt, tinyVggLike(), 6));
});
afterAll(() => { for (const b of built) b.model.destroy(); });

describe('sparse projection equals the float64 reference and the dense walk', () => {
  const cases: Array<{ net: number; layer: string; channel: number; positions: Array<Array<{ y: number; x: number }> | 'max'> }> = [
    // Corners of both images, an edge and the centre; per-image positions (each image its own window).
    { net: 0, layer: 'p3', channel: 2, positions: [[{ y: 0, x: 0 }, { y: 2, x: 2 }], [{ y: 1, x: 2 }, { y: 2, x: 0 }], 'max'] },
    { net: 0, layer: 'r3', channel: 1, positions: [[{ y: 0, x: 4 }, { y: 5, x: 0 }], [{ y: 3, x: 2 }, { y: 3, x: 2 }]] },
    { net: 0, layer: 'c2', channel: 4, positions: [[{ y: 5, x: 4 }, { y: 0, x: 1 }], 'max'] },
    { net: 1, layer: 'relu_2_2', channel: 3, positions: [[{ y: 0, x: 0 }, { y: 8, x: 8 }], [{ y: 4, x: 0 }, { y: 8, x: 4 }], 'max'] },
    { net: 1, layer: 'max_pool_1', channel: 1, positions: [[{ y: 12, x: 0 }, { y: 6, x: 6 }]] },
  ];
  for (const mode of MODES) {
    for (const c of cases) {
      for (const position of c.positions) {
        it(`${mode}: net ${c.net} ${c.layer}#${c.channel} at ${JSON.stringify(position)}`, async () => {
          const b = built[c.net]!;
          const { sparse, dense, keys, positions } = await both(b, c.layer, c.channel, position, mode);
          expect(keys, 'the windowed kernels ran').toContain('window:place');
          // Tiny VGG's windows stay below its maps down to the pixels; the strided net's grow to them and hand over.
          if (c.net === 1) {
            expect(keys.filter((k) => k.startsWith('unpool2d')), 'no dense unpooling').toEqual([]);
            expect(keys.filter((k) => k.startsWith('window:rectify')), 'the ReLU rules ran in the filter steps').toEqual([]);
            expect(keys.filter((k) => k.startsWith('window:transpose/') && k.includes(`rule="${mode}"`))).toHaveLength(c.layer === 'relu_2_2' ? 4 : 2);
            expect(keys.filter((k) => k.startsWith('conv2d') || k.startsWith('winograd')), 'no dense filter step').toEqual([]);
          }
          const at = positions.map((p) => p!);
          if (position !== 'max') expect(at).toEqual(position);
          expectClose(sparse, reference(b, c.layer, c.channel, at, mode), `${mode} sparse vs float64`, TOL);
          expectClose(sparse, dense, `${mode} sparse vs dense`, TOL);
        });
      }
    }
  }
});

describe('where the sparse walk stops', () => {
  it("position 'all' keeps the dense walk", async () => {
    const b = built[1]!;
    const fwd = await b.model.forward(b.input);
    const { result, keys } = await counted(rt, 'all', (rec) => createDeconvNet(b.model).projectIn(rec, fwd, { layer: 'relu_2_2', channel: 0, position: 'all' }));
    // No crop or place: no window walk (the dense walk's unpool + rule pass is the window kernel on whole maps, docs/fusion.md).
    expect(keys.some((k) => k.startsWith('window:crop') || k.startsWith('window:place'))).toBe(false);
    result.release(); fwd.release();
  });

  it('a window as large as its map hands over to the dense walk (deep layer of a small net)', async () => {
    // From pool p3 (3x3) the window at c1's input would be 23x23+ > 23x21: the dense walk takes c1.
    const b = built[0]!;
    const { sparse, dense, keys } = await both(b, 'p3', 0, [{ y: 1, x: 1 }, { y: 1, x: 1 }], 'guided');
    expect(keys).toContain('window:place');
    expectClose(sparse, dense, 'handed over', TOL);
  });

  it('a graph model: windows down to the Add, the dense walk through both branches', async () => {
    const rnd = makeRandom(40);
    const w = (n: number) => rnd.array(n, -0.5, 0.5);
    const model = createModel(rt, {
      inputShape: [2, 12, 11],
      nodes: [
        { layer: new Conv2D({ name: 'stem', filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', kernel: w(72) }), inputs: ['input'] },
        { layer: new Conv2D({ name: 'a', filters: 4, kernelSize: 3, padding: 'same', kernel: w(144) }), inputs: ['stem'] },
        { layer: new Conv2D({ name: 'b', filters: 4, kernelSize: 1, kernel: w(16) }), inputs: ['stem'] },
        { layer: new Add({ name: 'add' }), inputs: ['a', 'b'] },
        { layer: new ReLU({ name: 'relu' }), inputs: ['add'] },
        { layer: new MaxPool2D({ name: 'pool', kernel: 2 }), inputs: ['relu'] },
        { layer: new Conv2D({ name: 'head', filters: 3, kernelSize: 3, activation: 'relu', kernel: w(108) }), inputs: ['pool'] },
      ],
    });
    const input = makeRandom(41).array(BATCH * 2 * 12 * 11, 0, 1);
    try {
      for (const mode of MODES) {
        const b: Built = { net: { name: 'graph', inputShape: [2, 12, 11], layers: () => [], ref: [] }, model, input, saved: [] };
        const { sparse, dense, keys } = await both(b, 'head', 1, [{ y: 0, x: 2 }, { y: 3, x: 1 }], mode);
        // The pooling sits on a ReLU layer read by an Add: its unpool and that ReLU's rule run as one pass.
        expect(keys).toContain(kernelKey('window:unpool', { rule: mode, walk: 'tiled' }));
        expectClose(sparse, dense, `graph ${mode}`, TOL);
      }
    } finally {
      model.destroy();
    }
  });
});

describe('the fused filter step (transposeWindow) equals the rule pass then conv2dTranspose', () => {
  // Seeds of a 4x5 top map, one per image; the g level is 2 windows of 3x4 of a 7x6 conv output map,
  // origin seed*2 - 1: they stick out of the map at the edges, where the loads must read 0.
  const gLevel: WindowLevel = { size: [3, 4], a: [2, 2], b: [1, 1] };
  const cases: Array<{ name: string; m: number; cPerGroup: number; k: number; stride: [number, number]; dilation: [number, number]; groups: number }> = [
    { name: '3x3 stride 1', m: 5, cPerGroup: 3, k: 3, stride: [1, 1], dilation: [1, 1], groups: 1 },
    { name: '3x3 stride 2 groups 2', m: 6, cPerGroup: 2, k: 3, stride: [2, 2], dilation: [1, 1], groups: 2 },
    { name: '2x2 stride [3,2] dilation [1,2]', m: 4, cPerGroup: 3, k: 2, stride: [3, 2], dilation: [1, 2], groups: 1 },
  ];
  for (const c of cases) {
    for (const rule of ['mask', 'deconvnet', 'guided', 'gradient'] as WindowRule[]) {
      it(`${c.name}, rule ${rule}`, async () => {
        const rnd = makeRandom(77);
        const n = 2;
        const y = rt.createTensor([n, c.m, 7, 6], rnd.array(n * c.m * 42, -1, 1));
        const g = rt.createTensor([n, c.m, ...gLevel.size], rnd.array(n * c.m * 12, -1, 1));
        const w = rt.createTensor([c.m, c.cPerGroup, c.k, c.k], rnd.array(c.m * c.cPerGroup * c.k * c.k, -0.5, 0.5));
        const chosen = rt.createTensor([n], Uint32Array.from([0, 3 * 5 + 4]), 'u32');
        const seed = { chosen, width: 5 };
        const conv = { weight: w, stride: c.stride, dilation: c.dilation, groups: c.groups };
        const { result: fused, keys } = await counted(rt, 'fused', (rec) => transposeWindow(rec, g, y, gLevel, seed, rule, conv));
        expect(keys).toEqual([kernelKey('window:transpose', { rule, unpool: false })]);
        const unfused = await rt.run('unfused', (rec) => conv2dTranspose(rec, rec.temp(rectifyWindow(rec, g, y, gLevel, seed, rule)), w, null,
          { stride: c.stride, dilation: c.dilation, groups: c.groups }));
        const level = inputWindow(gLevel, [c.k, c.k], c.stride, c.dilation, [0, 0]);
        expect(fused.shape).toEqual([n, c.cPerGroup * c.groups, ...level.size]);
        expect(unfused.shape).toEqual(fused.shape);
        expectClose(await fused.read(), await unfused.read(), `${c.name} ${rule}`, TOL);
        for (const t of [y, g, w, chosen, fused, unfused]) t.release();
      });
    }
  }
});

describe('window ops name what is wrong', () => {
  it('ShapeError: seeds not u32 or not one per image, windows of the wrong shape', async () => {
    const level: WindowLevel = { size: [2, 2], a: [1, 1], b: [0, 0] };
    const full = rt.createTensor([2, 3, 5, 5]);
    const win = rt.createTensor([2, 3, 3, 3]);
    const f32Seeds = rt.createTensor([2]);
    const oneSeed = rt.createTensor([1], new Uint32Array(1), 'u32');
    const seeds = rt.createTensor([2], new Uint32Array(2), 'u32');
    const switches = rt.createTensor([2, 3, 2, 2], new Uint32Array(24), 'u32');
    const w = rt.createTensor([4, 3, 3, 3]);
    const cases: Array<[string, (rec: Parameters<Parameters<Runtime['run']>[1]>[0]) => unknown, RegExp]> = [
      ['f32 seeds', (rec) => cropWindow(rec, full, level, { chosen: f32Seeds, width: 5 }), /seeds \[2\] \(f32\) must be u32, one per image of the batch of 2/],
      ['one seed for two images', (rec) => placeWindow(rec, win, level, [2, 3, 5, 5], { chosen: oneSeed, width: 5 }), /one per image of the batch of 2/],
      ['window of another size', (rec) => rectifyWindow(rec, win, full, level, { chosen: seeds, width: 5 }, 'guided'), /signal \[2,3,3,3\] is not the window \[2,3,2,2\]/],
      ['place: window of another size', (rec) => placeWindow(rec, win, level, [2, 3, 5, 5], { chosen: seeds, width: 5 }), /window \[2,3,3,3\] is not \[2,3,2,2\]/],
      ['unpool: f32 switches', (rec) => unpoolWindow(rec, win, full, [2, 3, 5, 5], { kernel: 2 }, level, { size: [3, 3], a: [1, 1], b: [0, 0] }, { chosen: seeds, width: 5 }), /switches \[2,3,5,5\] are not u32 \[2,3,2,2\]/],
      ['unpool: switches fine, signal not its window', (rec) => unpoolWindow(rec, win, switches, [2, 3, 5, 5], { kernel: 2 }, level, level, { chosen: seeds, width: 5 }), /signal \[2,3,3,3\] is not the window \[2,3,2,2\]/],
      ['filter step: weight for 4 channels, signal has 3', (rec) => transposeWindow(rec, win, win, { size: [3, 3], a: [1, 1], b: [0, 0] }, { chosen: seeds, width: 5 }, 'mask', { weight: w, stride: [1, 1], dilation: [1, 1], groups: 1 }), /weight \[4,3,3,3\] does not map 3 channels in 1 groups/],
    ];
    for (const [name, record, message] of cases) {
      const failing = rt.run(name, record);
      await expect(failing, name).rejects.toBeInstanceOf(ShapeError);
      await expect(failing, name).rejects.toThrow(message);
    }
    for (const t of [full, win, f32Seeds, oneSeed, seeds, switches, w]) t.release();
  });
});
