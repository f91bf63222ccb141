// Feature-map grids equal featureMapGrid of the activation read in full and
// sliced on the CPU; first-layer filters equal a CPU rendering of the known
// weights; only the one image asked for is read back.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import {
  createModel, featureMapGrid, Conv2D, ReLU, Dense, OutOfRangeError,
  type Runtime, type Model,
} from '../src/index.js';
import { featureMaps, featureMapsPerBlock, firstLayerFilters, layerOverview } from '../src/analysis/feature_maps.js';
import { makeRandom } from './helpers/random.js';
import { makeTestNet, testNetModel, TEST_INPUT_SHAPE } from './helpers/nets.js';

const PER = TEST_INPUT_SHAPE.reduce((a, b) => a * b, 1);
const net = makeTestNet(8);
const input = makeRandom(40).array(3 * PER, 0, 1);

let rt: Runtime;
let model: Model;
beforeAll(async () => {
  ({ rt, model } = await testNetModel(net));
});
afterAll(() => model?.destroy());

/** Image `index` of a layer, from a full read of the activation. */
async function sliceOf(fwd: Awaited<ReturnType<Model['forward']>>, layer: string, index: number) {
  const all = await fwd.activation(layer).read();
  const per = all.length / fwd.batch;
  return all.slice(index * per, (index + 1) * per);
}

describe('featureMaps', () => {
  it('one layer of one image of a batch: the grid of its channels', async () => {
    const fwd = await model.forward(input);
    for (const [layer, index] of [['conv1', 2], ['pool2', 0], ['fc1', 1]] as const) {
      const maps = await featureMaps(fwd, layer, index);
      const info = model.info[model.layerIndex(layer)]!;
      expect([maps.name, maps.kind, maps.shape]).toEqual([info.name, info.kind, info.outputShape]);
      const data = await sliceOf(fwd, layer, index);
      const shape = info.outputShape.length === 3 ? [1, ...info.outputShape] : [1, data.length];
      const want = featureMapGrid(data, shape, 0);
      expect(maps.grid.tiles).toEqual(want.tiles);
      expect([maps.grid.image.width, maps.grid.image.height]).toEqual([want.image.width, want.image.height]);
      expect(Array.from(maps.grid.image.data)).toEqual(Array.from(want.image.data));
    }
    expect((await featureMaps(fwd, 'conv1')).grid.tiles.length).toBe(6);
    await expect(featureMaps(fwd, 'conv1', 3)).rejects.toThrow(/image 3 .* 3 images/);
    await expect(featureMaps(fwd, 'conv7')).rejects.toThrow(OutOfRangeError);
    fwd.release();
    await expect(featureMaps(fwd, 'conv1')).rejects.toThrow(/released/);
  });

  it('per block: by default the layer before each pooling layer; or chosen kinds; one read of one image', async () => {
    const fwd = await model.forward(input);
    const before = { ...rt.stats };
    const blocks = await featureMapsPerBlock(fwd, { index: 1 });
    expect(rt.stats.bytesRead - before.bytesRead).toBe(4 * (6 * 19 * 17 + 8 * 5 * 4)); // relu1 + conv2, image 1 only
    expect(rt.stats.submits - before.submits).toBe(1);
    expect(blocks.map((b) => b.name)).toEqual(['relu1', 'conv2']);
    for (const b of blocks) {
      const data = await sliceOf(fwd, b.name, 1);
      expect(Array.from(b.grid.image.data)).toEqual(Array.from(featureMapGrid(data, [1, ...b.shape], 0).image.data));
    }
    const pools = await featureMapsPerBlock(fwd, { kinds: ['MaxPool2D', 'Dense'] });
    expect(pools.map((b) => b.name)).toEqual(['pool1', 'pool2', 'fc1', 'fc2']);
    const fc2 = await sliceOf(fwd, 'fc2', 0);
    expect(Array.from(pools[3]!.grid.image.data)).toEqual(Array.from(featureMapGrid(fc2, [1, 5], 0).image.data));
    expect(await featureMapsPerBlock(fwd, { kinds: ['BatchNorm'] })).toEqual([]);
    fwd.release();
  });
});

/** Per channel of [C, H, W] data: the largest value and its first (y, x) in raster order, by a plain scan. */
function argmaxPerChannel(data: Float32Array, shape: readonly number[]) {
  const [c, h, w] = shape.length === 3 ? shape : [data.length, 1, 1];
  return Array.from({ length: c! }, (_, ch) => {
    let best = { value: -Infinity, y: 0, x: 0 };
    for (let y = 0; y < h!; y++) for (let x = 0; x < w!; x++) {
      const v = data[(ch * h! + y) * w! + x]!;
      if (v > best.value) best = { value: v, y, x };
    }
    return best;
  });
}

describe('strongest activations and layerOverview', () => {
  it('featureMaps: each channel\'s strongest activation and where, as a full read and a scan find them', async () => {
    const fwd = await model.forward(input);
    for (const [layer, index] of [['conv1', 1], ['pool2', 2], ['fc1', 0]] as const) {
      const maps = await featureMaps(fwd, layer, index);
      const data = await sliceOf(fwd, layer, index);
      expect(maps.strongest, layer).toEqual(argmaxPerChannel(data, maps.shape));
      expect(Array.from(maps.data)).toEqual(Array.from(data));
    }
    fwd.release();
  });

  it('the first channels of every node of one image: one submit, one read of exactly those values', async () => {
    const fwd = await model.forward(input);
    const before = { ...rt.stats };
    const overview = await layerOverview(fwd, { channels: 4, units: 7, index: 2 });
    expect(rt.stats.submits - before.submits).toBe(1);
    const expectedFloats = model.info.reduce((n, i) => n + (i.outputShape.length === 3 ? Math.min(4, i.outputShape[0]!) * i.outputShape[1]! * i.outputShape[2]! : Math.min(7, i.outputShape[0]!)), 0);
    expect(rt.stats.bytesRead - before.bytesRead).toBe(4 * expectedFloats);
    expect(overview.map((o) => o.name)).toEqual(model.info.map((i) => i.name));
    for (const o of overview) {
      const all = await sliceOf(fwd, o.name, 2);
      const plane = o.shape.length === 3 ? o.shape[1]! * o.shape[2]! : 1;
      const kept = o.shape.length === 3 ? Math.min(4, o.shape[0]!) * plane : Math.min(7, all.length);
      const want = all.slice(0, kept);
      expect(Array.from(o.data), o.name).toEqual(Array.from(want));
      const gridShape = o.shape.length === 3 ? [1, kept / plane, o.shape[1]!, o.shape[2]!] : [1, kept];
      expect(Array.from(o.grid.image.data), o.name).toEqual(Array.from(featureMapGrid(want, gridShape, 0).image.data));
      expect(o.strongest, o.name).toEqual(argmaxPerChannel(want, o.shape.length === 3 ? [kept / plane, o.shape[1]!, o.shape[2]!] : [kept]));
    }
    await expect(layerOverview(fwd, { index: 3 })).rejects.toThrow(/image 3 .* 3 images/);
    fwd.release();
    await expect(layerOverview(fwd)).rejects.toThrow(/released/);
  });
});

describe('firstLayerFilters', () => {
  /** Per filter, (v - min) / (max - min) * 255 over all its weights. */
  function levels(kernel: Float32Array, filters: number) {
    const per = kernel.length / filters;
    return Array.from(kernel, (v, i) => {
      const f = Math.floor(i / per), w = kernel.subarray(f * per, (f + 1) * per);
      const lo = Math.min(...w), hi = Math.max(...w);
      return Math.round((255 * (v - lo)) / (hi - lo));
    });
  }
  const pixel = (img: { width: number; data: Uint8ClampedArray }, x: number, y: number) => Array.from(img.data.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 4));

  it('3 input channels: RGB tiles in a square-ish grid, each filter contrast-normalised', async () => {
    const kernel = makeRandom(2).array(5 * 3 * 2 * 3, -1, 1); // 5 filters, 3 channels, 2x3
    const m = createModel(rt, { inputShape: [3, 6, 6], layers: [new ReLU({ name: 'r' }), new Conv2D({ name: 'c1', filters: 5, kernelSize: [2, 3], kernel }), new Conv2D({ name: 'c2', filters: 2, kernelSize: 1 })] });
    const { layer, shape, image } = await firstLayerFilters(m);
    expect([layer, shape]).toEqual(['c1', [5, 3, 2, 3]]);
    // 3 columns x 2 rows of 3x2 tiles with 1-pixel gaps
    expect([image.width, image.height]).toEqual([3 * 4 + 1, 2 * 3 + 1]);
    const lv = levels(kernel, 5);
    for (let f = 0; f < 5; f++) for (let y = 0; y < 2; y++) for (let x = 0; x < 3; x++) {
      const px = 1 + (f % 3) * 4 + x, py = 1 + Math.floor(f / 3) * 3 + y;
      const at = (c: number) => lv[((f * 3 + c) * 2 + y) * 3 + x]!;
      expect(pixel(image, px, py), `filter ${f} (${y}, ${x})`).toEqual([at(0), at(1), at(2), 255]);
    }
    expect(pixel(image, 0, 0)).toEqual([0, 0, 0, 255]); // gap
    expect(pixel(image, 9, 4)).toEqual([0, 0, 0, 255]); // the empty 6th slot
    m.destroy();
  });

  it('other channel counts: one row per filter, a grey tile per input channel', async () => {
    const kernel = makeRandom(3).array(2 * 2 * 3 * 3, -1, 1);
    const m = createModel(rt, { inputShape: [2, 5, 5], layers: [new Conv2D({ name: 'c', filters: 2, kernelSize: 3, kernel })] });
    const { image } = await firstLayerFilters(m);
    expect([image.width, image.height]).toEqual([2 * 4 + 1, 2 * 4 + 1]);
    const lv = levels(kernel, 2);
    for (let f = 0; f < 2; f++) for (let c = 0; c < 2; c++) for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) {
      const g = lv[((f * 2 + c) * 3 + y) * 3 + x]!;
      expect(pixel(image, 1 + c * 4 + x, 1 + f * 4 + y)).toEqual([g, g, g, 255]);
    }
    m.destroy();
    const noConv = createModel(rt, { inputShape: [4], layers: [new Dense({ units: 2 })] });
    await expect(firstLayerFilters(noConv)).rejects.toThrow(/no Conv2D layer/);
    noConv.destroy();
  });
});
