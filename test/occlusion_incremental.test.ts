// Incremental occlusion (src/analysis/incremental_*.ts) against the full
// recomputation of every occluded copy (the path test/occlusion.test.ts
// checks against a float64 CPU loop). The two run the same kernels on the
// same values: inside a window the crop holds the same inputs as the full map
// (explicit padding values where the full op skips padded taps), so the maps
// must agree to float32 rounding. Stated tolerance: every element of maps (a),
// (b) and (c) within 1e-6 of the largest magnitude of that full map, labels
// identical (observed: the maps are bit-identical on SwiftShader).
//
// The plan's windows are also checked on the CPU against a brute-force
// "which outputs can change" propagation written from the layer definitions.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import {
  createModel, createRuntime, loadModel, Conv2D, MaxPool2D, AvgPool2D, ReLU, BatchNorm, Flatten, Dense, Softmax, Add, Concat, GlobalAvgPool2D,
  OutOfRangeError, ShapeError, type Layer, type Model, type Runtime, type GraphNode,
} from '../src/index.js';
import { occlusionSensitivity, occlusionWithPlan, type OcclusionOptions, type OcclusionResult } from '../src/analysis/occlusion.js';
import { planIncrementalOcclusion, type IncrementalPlan, type OccluderGrid } from '../src/analysis/incremental_plan.js';
import { cropPaste } from '../src/ops/crop_paste.js';
import { getRuntime } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';

let rt: Runtime;
const models: Model[] = [];
beforeAll(async () => { rt = await getRuntime(); });
afterAll(() => { for (const m of models) m.destroy(); });

function chain(inputShape: number[], layers: Layer[]): Model {
  const m = createModel(rt, { inputShape, layers });
  models.push(m);
  return m;
}

function graph(inputShape: number[], nodes: GraphNode[]): Model {
  const m = createModel(rt, { inputShape, nodes });
  models.push(m);
  return m;
}

const imageFor = (m: Model, seed = 5) => makeRandom(seed).array(m.inputShape.reduce((a, b) => a * b, 1), 0, 1);

/** Tiny VGG's shape (CNN Explainer): two blocks of two valid 3x3 convs + ReLU and a 2x2 pool, dense softmax. */
const tinyVgg = (): Layer[] => [
  new Conv2D({ name: 'conv_1_1', filters: 6, kernelSize: 3, seed: 1 }), new ReLU({ name: 'relu_1_1' }),
  new Conv2D({ name: 'conv_1_2', filters: 6, kernelSize: 3, activation: 'relu', seed: 2 }),
  new MaxPool2D({ name: 'pool_1', kernel: 2 }),
  new Conv2D({ name: 'conv_2_1', filters: 8, kernelSize: 3, activation: 'relu', seed: 3 }),
  new Conv2D({ name: 'conv_2_2', filters: 8, kernelSize: 3, activation: 'relu', seed: 4 }),
  new MaxPool2D({ name: 'pool_2', kernel: 2 }),
  new Flatten({ name: 'flatten' }), new Dense({ name: 'fc', units: 7, seed: 5 }), new Softmax({ name: 'prob' }),
];

/** Strided, padded, dilated, grouped convolutions and padded / ceil-mode / count-include-pad pooling. */
const stridedNet = (): Layer[] => [
  new Conv2D({ name: 'c1', filters: 6, kernelSize: 5, stride: 2, padding: 'same', activation: 'relu', seed: 11 }),
  new BatchNorm({ name: 'bn', scale: Float32Array.of(1, 0.5, 2, 1, 1.5, 0.8), bias: Float32Array.of(0, 0.1, -0.1, 0.2, 0, 0), mean: new Float32Array(6).fill(0.1), variance: new Float32Array(6).fill(0.9), epsilon: 1e-5 }),
  new Conv2D({ name: 'c2', filters: 6, kernelSize: 3, dilation: 2, padding: [2, 1, 2, 3], groups: 2, activation: 'relu', seed: 12 }),
  new MaxPool2D({ name: 'p1', kernel: 3, stride: 2, padding: [1, 1, 1, 1], ceilMode: true }),
  new Conv2D({ name: 'c3', filters: 8, kernelSize: [3, 2], stride: [1, 2], padding: [1, 0, 1, 1], activation: 'relu', seed: 13 }),
  new AvgPool2D({ name: 'p2', kernel: 2, stride: 1, padding: [1, 1, 0, 0], countIncludePad: true }),
  new Flatten({ name: 'flatten' }), new Dense({ name: 'fc', units: 5, seed: 14 }), new Softmax({ name: 'prob' }),
];

/** Windows with gaps: a 1x1 conv at stride 2 and a dilated pool at stride 3 skip inputs. */
const subsamplingNet = (): Layer[] => [
  new Conv2D({ name: 's1', filters: 4, kernelSize: 1, stride: 2, activation: 'relu', seed: 51 }),
  new MaxPool2D({ name: 'sp', kernel: 2, stride: 3, dilation: 2 }),
  new Conv2D({ name: 's2', filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', seed: 52 }),
  new Flatten({ name: 'flatten' }), new Dense({ name: 'fc', units: 3, seed: 53 }),
];

/** Branches that meet in an Add and a channel Concat, ending in global pooling. */
const branchyNodes = (): GraphNode[] => [
  { layer: new Conv2D({ name: 'stem', filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', seed: 21 }), inputs: ['input'] },
  { layer: new Conv2D({ name: 'a', filters: 4, kernelSize: 3, padding: 'same', seed: 22 }), inputs: ['stem'] },
  { layer: new Conv2D({ name: 'b1', filters: 4, kernelSize: 1, seed: 23 }), inputs: ['stem'] },
  { layer: new Conv2D({ name: 'b2', filters: 4, kernelSize: 5, padding: 'same', seed: 24 }), inputs: ['b1'] },
  { layer: new Add({ name: 'sum' }), inputs: ['a', 'b2'] },
  { layer: new ReLU({ name: 'relu' }), inputs: ['sum'] },
  { layer: new MaxPool2D({ name: 'pool', kernel: 2 }), inputs: ['relu'] },
  { layer: new Conv2D({ name: 'c', filters: 3, kernelSize: 3, padding: 'same', seed: 25 }), inputs: ['pool'] },
  { layer: new Concat({ name: 'cat', axis: 0 }), inputs: ['pool', 'c'] },
  { layer: new GlobalAvgPool2D({ name: 'gap' }), inputs: ['cat'] },
  { layer: new Flatten({ name: 'flat' }), inputs: ['gap'] },
  { layer: new Dense({ name: 'fc', units: 6, seed: 26 }), inputs: ['flat'] },
  { layer: new Softmax({ name: 'prob' }), inputs: ['fc'] },
];

/** The worst element error of `a` against `b`, relative to b's largest magnitude. */
function relativeMaxError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let err = 0, scale = 0;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return err / Math.max(scale, 1e-30);
}

const TOL = 1e-6;

function expectSameMaps(inc: OcclusionResult, full: OcclusionResult): void {
  expect(inc.path).toBe('incremental');
  expect(full.path).toBe('full');
  expect([inc.rows, inc.cols, inc.strongestChannel, inc.classIndex]).toEqual([full.rows, full.cols, full.strongestChannel, full.classIndex]);
  expect(relativeMaxError(inc.featureActivation, full.featureActivation), '(a)').toBeLessThanOrEqual(TOL);
  expect(relativeMaxError(inc.classProbability, full.classProbability), '(b)').toBeLessThanOrEqual(TOL);
  expect(relativeMaxError(inc.topProbability, full.topProbability), '(c) probability').toBeLessThanOrEqual(TOL);
  expect(Array.from(inc.topLabel)).toEqual(Array.from(full.topLabel));
  // The maps must vary, or equality proves little.
  const spread = (a: Float32Array) => Math.max(...a) - Math.min(...a);
  expect(spread(full.featureActivation)).toBeGreaterThan(1e-4);
}

async function compare(model: Model, options: OcclusionOptions, seed = 5): Promise<OcclusionResult> {
  const image = imageFor(model, seed);
  const inc = await occlusionSensitivity(model, image, options);
  const full = await occlusionSensitivity(model, image, { ...options, incremental: false });
  expectSameMaps(inc, full);
  return inc;
}

describe('incremental occlusion gives the full recomputation\'s maps', () => {
  it('Tiny VGG-like chain (valid convs, ReLU, 2x2 pools, dense): squares at every border and corner, ragged stride', async () => {
    const model = chain([3, 30, 30], tinyVgg());
    // 7x7 squares at stride 4 on 30: positions 0..20 (6 rows/cols), the last 3 pixels never a bottom/right edge.
    const r = await compare(model, { layer: 'conv_2_2', size: 7, stride: 4, batchSize: 8 });
    expect([r.rows, r.cols]).toEqual([6, 6]);
  });

  it('the demo\'s Tiny VGG (TF.js import, channels-last) with the demo\'s default occluder (16 px, stride 8)', async () => {
    const { model } = await loadModel(rt, '/demo/public/models/tiny-vgg/model.json');
    models.push(model);
    const r = await compare(model, { layer: 'conv_2_1', size: 16, stride: 8 });
    expect([r.rows, r.cols]).toEqual([7, 7]);
  });

  it('strided/padded/dilated/grouped convs, ceil-mode padded max pool, count-include-pad avg pool', async () => {
    const model = chain([2, 29, 27], stridedNet());
    const plan = planIncrementalOcclusion(model, { size: 4, stride: 3, rows: 9, cols: 8 }) as IncrementalPlan;
    expect(plan.steps.filter((s) => s.kind === 'slide').length, 'windowed layers').toBeGreaterThanOrEqual(3);
    await compare(model, { layer: 'c3', size: 4, stride: 3, batchSize: 13 });
    await compare(model, { layer: 'bn', size: 6, stride: 7, batchSize: 5, fill: -1 }, 9);
    const gaps = chain([3, 41, 38], subsamplingNet());
    await compare(gaps, { layer: 's2', size: 2, stride: 3, batchSize: 40 });
  });

  it('a graph with branches (Add of two conv paths, channel Concat, global pooling)', async () => {
    const model = graph([3, 20, 22], branchyNodes());
    const plan = planIncrementalOcclusion(model, { size: 3, stride: 2, rows: 9, cols: 10 }) as IncrementalPlan;
    expect(plan.steps.map((s) => s.kind)).toEqual(['slide', 'slide', 'slide', 'slide', 'merge', 'pointwise', 'slide', 'slide', 'merge', 'full', 'full', 'full', 'full']);
    // Map (a) at the Concat (a merge step), batches of 16 (the last one ragged).
    await compare(model, { layer: 'cat', size: 3, stride: 2, batchSize: 16 });
  });

  it('element-wise layers and joins reading the occluded image itself (its window is the constant square)', async () => {
    const ones = (v: number) => new Float32Array(2).fill(v);
    const model = graph([2, 12, 13], [
      { layer: new BatchNorm({ name: 'bn', scale: Float32Array.of(1.5, 0.5), bias: ones(0.1), mean: ones(0.4), variance: ones(0.5) }), inputs: ['input'] },
      { layer: new Conv2D({ name: 'c', filters: 2, kernelSize: 3, padding: 'same', activation: 'relu', seed: 31 }), inputs: ['bn'] },
      { layer: new Add({ name: 'residual' }), inputs: ['input', 'c'] },
      { layer: new MaxPool2D({ name: 'pool', kernel: 2 }), inputs: ['residual'] },
      { layer: new Flatten({ name: 'flat' }), inputs: ['pool'] },
      { layer: new Dense({ name: 'fc', units: 4, seed: 32 }), inputs: ['flat'] },
    ]);
    const plan = planIncrementalOcclusion(model, { size: 3, stride: 3, rows: 4, cols: 4 }) as IncrementalPlan;
    expect(plan.steps.map((s) => s.kind)).toEqual(['pointwise', 'slide', 'merge', 'slide', 'full', 'full']);
    await compare(model, { layer: 'residual', size: 3, stride: 3, batchSize: 6 });
  });

  it('Winograd pinned for every conv: the crop\'s tiles start at its window, not at the map, so only rounding differs', async () => {
    const wrt = await createRuntime({ device: rt.device, poisonNewTensors: true, pinnedKernels: { conv2d: 'winograd-2x2' } });
    const model = createModel(wrt, {
      inputShape: [3, 18, 18],
      layers: [
        new Conv2D({ name: 'c1', filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', seed: 41 }),
        new Conv2D({ name: 'c2', filters: 4, kernelSize: 3, activation: 'relu', seed: 42 }),
        new MaxPool2D({ name: 'pool', kernel: 2 }), new Flatten(), new Dense({ units: 5, seed: 43 }),
      ],
    });
    try {
      const image = imageFor(model);
      const options = { layer: 'c2', size: 5, stride: 3 };
      const inc = await occlusionSensitivity(model, image, options);
      const full = await occlusionSensitivity(model, image, { ...options, incremental: false });
      expect(inc.path).toBe('incremental');
      for (const key of ['featureActivation', 'classProbability', 'topProbability'] as const) {
        expect(relativeMaxError(inc[key], full[key]), key).toBeLessThanOrEqual(1e-5);
      }
    } finally {
      model.destroy();
      wrt.destroy();
    }
  });

  it('a window of the wrong size gives wrong maps (the test above can fail)', async () => {
    const model = chain([3, 30, 30], tinyVgg());
    const image = imageFor(model);
    const options = { layer: 'pool_2', size: 7, stride: 4 };
    const full = await occlusionSensitivity(model, image, { ...options, incremental: false });
    const shrunk = await occlusionWithPlan(model, image, options, (m, grid) => {
      const plan = planIncrementalOcclusion(m, grid) as IncrementalPlan;
      // conv_1_2's window one row and column short (its crop to match): the last changed row is taken from the original.
      const step = plan.steps[2]!;
      if (step.kind !== 'slide') throw new Error('conv_1_2 should be windowed');
      step.window.height--; step.window.width--;
      step.crop.height--; step.crop.width--;
      return plan;
    });
    expect(shrunk.path).toBe('incremental');
    expect(relativeMaxError(shrunk.featureActivation, full.featureActivation)).toBeGreaterThan(1e-3);
  });

  it('falls back to the full path, with a reason, where no layer can take a window', async () => {
    const model = chain([1, 8, 8], [new Flatten({ name: 'flatten' }), new Dense({ name: 'fc', units: 4, seed: 3 }), new Softmax({ name: 'prob' })]);
    const r = await occlusionSensitivity(model, imageFor(model), { layer: 'fc', size: 3, stride: 2 });
    expect(r.path).toBe('full');
    expect(r.fallback).toMatch(/flatten \(Flatten\): its output \[64\] is not a map/);
    // A square as large as the image leaves nothing to save either.
    const conv = chain([1, 8, 8], [new Conv2D({ name: 'c', filters: 2, kernelSize: 3, seed: 1 }), new Flatten(), new Dense({ units: 3, seed: 2 })]);
    const whole = await occlusionSensitivity(conv, imageFor(conv), { layer: 'c', size: 8 });
    expect(whole.path).toBe('full');
    expect(whole.fallback).toMatch(/c \(Conv2D\): its window covers the map/);
  });
});

/** Brute force: which output positions of each node can differ from the original, per occluder position. */
function changedMaps(model: Model, grid: OccluderGrid, position: number): Array<Uint8Array | null> {
  const [, H, W] = model.inputShape as [number, number, number];
  const top = Math.floor(position / grid.cols) * grid.stride, left = (position % grid.cols) * grid.stride;
  const input = new Uint8Array(H * W);
  for (let y = top; y < top + grid.size; y++) for (let x = left; x < left + grid.size; x++) input[y * W + x] = 1;
  const maps: Array<Uint8Array | null> = [];
  model.layers.forEach((layer, i) => {
    const src = model.sources[i]!.map((s) => (s < 0 ? input : maps[s]!));
    const inShape = (s: number) => (s < 0 ? model.inputShape : model.info[s]!.outputShape);
    const out = model.info[i]!.outputShape;
    if (out.length !== 3 || src.some((m) => m === null)) { maps.push(null); return; }
    const [, OH, OW] = out as [number, number, number];
    const [, IH, IW] = inShape(model.sources[i]![0]!) as [number, number, number];
    const m = new Uint8Array(OH * OW);
    const win = windowOf(layer, IH, IW);
    for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) {
      if (!win) { m[oy * OW + ox] = src.some((s) => s![oy * OW + ox]) ? 1 : 0; continue; }
      for (let ky = 0; ky < win.kH; ky++) for (let kx = 0; kx < win.kW; kx++) {
        const iy = oy * win.sH - win.pT + ky * win.dH, ix = ox * win.sW - win.pL + kx * win.dW;
        if (iy >= 0 && iy < IH && ix >= 0 && ix < IW && src[0]![iy * IW + ix]) m[oy * OW + ox] = 1;
      }
    }
    maps.push(m);
  });
  return maps;
}

/** Taps of a conv/pool layer from its options (the definitions, not the plan's code); null: element-wise. */
function windowOf(layer: unknown, IH: number, IW: number) {
  if (layer instanceof Conv2D) {
    const [, , kH, kW] = layer.kernelShape as [number, number, number, number];
    const s = layer.attrs.stride ?? 1, d = layer.attrs.dilation ?? 1;
    const [sH, sW] = typeof s === 'number' ? [s, s] : s, [dH, dW] = typeof d === 'number' ? [d, d] : d;
    let pT = 0, pL = 0;
    const p = layer.attrs.padding;
    if (Array.isArray(p)) [pT, pL] = p;
    else if (p === 'same') {
      pT = Math.floor(Math.max((Math.ceil(IH / sH) - 1) * sH + (kH - 1) * dH + 1 - IH, 0) / 2);
      pL = Math.floor(Math.max((Math.ceil(IW / sW) - 1) * sW + (kW - 1) * dW + 1 - IW, 0) / 2);
    }
    return { kH, kW, sH, sW, dH, dW, pT, pL };
  }
  if (layer instanceof MaxPool2D || layer instanceof AvgPool2D) {
    const k = layer.attrs.kernel, [kH, kW] = typeof k === 'number' ? [k, k] : k;
    const s = layer.attrs.stride ?? k, [sH, sW] = typeof s === 'number' ? [s, s] : s;
    const p = layer.attrs.padding;
    const [pT, pL] = Array.isArray(p) ? p : [0, 0];
    return { kH, kW, sH, sW, dH: 1, dW: 1, pT, pL };
  }
  return null;
}

describe('incremental plan: windows hold every changed value', () => {
  const cases = [
    { what: 'Tiny VGG-like', model: () => chain([3, 30, 30], tinyVgg()), grid: { size: 7, stride: 4, rows: 6, cols: 6 } },
    { what: 'strided/padded', model: () => chain([2, 29, 27], stridedNet()), grid: { size: 4, stride: 3, rows: 9, cols: 8 } },
    { what: 'gaps (stride past the kernel)', model: () => chain([3, 41, 38], subsamplingNet()), grid: { size: 2, stride: 3, rows: 14, cols: 13 } },
    { what: 'branches', model: () => graph([3, 20, 22], branchyNodes()), grid: { size: 3, stride: 2, rows: 9, cols: 10 } },
  ];
  for (const c of cases) {
    it(c.what, () => {
      const model = c.model();
      const plan = planIncrementalOcclusion(model, c.grid) as IncrementalPlan;
      expect('steps' in plan).toBe(true);
      let tight = 0, windowed = 0;
      for (let p = 0; p < c.grid.rows * c.grid.cols; p++) {
        const changed = changedMaps(model, c.grid, p);
        plan.steps.forEach((step, i) => {
          const m = changed[i];
          if (step.kind === 'full') return;
          windowed++;
          const [, OH, OW] = model.info[i]!.outputShape as [number, number, number];
          const { height, width, tops, lefts } = step.window;
          expect(tops[p]! >= 0 && lefts[p]! >= 0 && tops[p]! + height <= OH && lefts[p]! + width <= OW, `${model.layers[i]!.name}: window inside the map`).toBe(true);
          let minY = OH, maxY = -1;
          for (let y = 0; y < OH; y++) for (let x = 0; x < OW; x++) {
            if (!m![y * OW + x]) continue;
            minY = Math.min(minY, y); maxY = Math.max(maxY, y);
            const inside = y >= tops[p]! && y < tops[p]! + height && x >= lefts[p]! && x < lefts[p]! + width;
            if (!inside) throw new Error(`${model.layers[i]!.name}, position ${p}: changed (${y}, ${x}) lies outside the window`);
          }
          if (maxY - minY + 1 === height) tight++;
        });
      }
      // Static sizes are the largest a position needs: most positions fill their window.
      expect(tight).toBeGreaterThan(windowed / 3);
    });
  }
});

describe('cropPaste op', () => {
  it('crop of original + patch with padding outside the map; one channel; typed errors', async () => {
    const orig = rt.createTensor([1, 2, 3, 4], Float32Array.from({ length: 24 }, (_, i) => i));
    const patch = rt.createTensor([1, 2, 2, 2], Float32Array.from({ length: 8 }, (_, i) => 100 + i));
    // patch at (1, 2); crop of 3x3 from (-1, 1).
    const table = rt.createTensor([4], new Uint32Array(Int32Array.of(1, 2, -1, 1).buffer), 'u32');
    const out = await rt.run('crop', (rec) => rec.own(cropPaste(rec, orig, table, { patch }, { copies: 1, height: 3, width: 3, patchAt: 0, cropAt: 2, padValue: -7 })));
    const got = await out.read();
    const expected: number[] = [];
    for (let c = 0; c < 2; c++) for (let y = -1; y < 2; y++) for (let x = 1; x < 4; x++) {
      if (y < 0 || y >= 3 || x >= 4) expected.push(-7);
      else if (y >= 1 && x >= 2) expected.push(100 + c * 4 + (y - 1) * 2 + (x - 2));
      else expected.push(c * 12 + y * 4 + x);
    }
    expect(Array.from(got)).toEqual(expected);
    const one = await rt.run('crop', (rec) => rec.own(cropPaste(rec, orig, table, { fill: 9, height: 2, width: 2 }, { copies: 1, height: 3, width: 4, patchAt: 0, cropAt: 0, channelOffset: 1, channels: 1 })));
    // cropAt 0 reads (1, 2) as the crop origin too: rows 1..3 (3 out of the map), columns 2..5.
    expect(Array.from(await one.read())).toEqual([9, 9, 0, 0, 9, 9, 0, 0, 0, 0, 0, 0]);
    await expect(rt.run('bad', (rec) => cropPaste(rec, orig, table, { patch }, { copies: 2, height: 3, width: 3, patchAt: 0, cropAt: 0 }))).rejects.toThrow(ShapeError);
    await expect(rt.run('bad', (rec) => cropPaste(rec, orig, table, { patch }, { copies: 1, height: 3, width: 3, patchAt: 0, cropAt: 3 }))).rejects.toThrow(OutOfRangeError);
    await expect(rt.run('bad', (rec) => cropPaste(rec, orig, table, { patch }, { copies: 1, height: 3, width: 3, patchAt: 0, cropAt: 0, channelOffset: 1, channels: 2 }))).rejects.toThrow(OutOfRangeError);
    for (const t of [orig, patch, table, out, one]) t.release();
  });
});
