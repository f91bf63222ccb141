// Top-k activations over a dataset (Zeiler & Fergus 2014, Fig. 2): the kept
// set against a CPU brute force (on the GPU's own float32 activations: exact,
// ties included; and on the float64 reference net: same images, positions and
// order, close values), patches against direct crops, projections against the
// float64 DeconvNet of each single activation, plus progress, abort, memory
// and what the dataset pass reads back.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import {
  createModel, Conv2D, ReLU, MaxPool2D, Flatten, Dense, OutOfRangeError, ShapeError,
  type Runtime, type Model,
} from '../src/index.js';
import { topActivations, type TopKResult } from '../src/analysis/topk.js';
import { fieldBox } from '../src/analysis/receptive_field.js';
import { channelMax } from '../src/ops/channel_max.js';
import type { Progress } from '../src/util/progress.js';
import { getRuntime, expectClose } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { refForward, refProject, type RefLayer } from './ref/net.js';

const SHAPE = [1, 12, 12];
const SIZE = 144;
const COUNT = 40;
const rnd = makeRandom(2024);
const w1 = rnd.array(4 * 9, -0.6, 0.6), b1 = rnd.array(4, -0.1, 0.1);
const w2 = rnd.array(6 * 4 * 9, -0.4, 0.4), b2 = rnd.array(6, -0.1, 0.1);
const w3 = rnd.array(5 * 96, -0.2, 0.2), b3 = rnd.array(5, -0.1, 0.1);

// conv1 3x3 pad 1 -> 4x12x12 (plane 144: channel_max's workgroup variant); relu;
// pool 2x2 -> 4x6x6; conv2 3x3 valid + relu -> 6x4x4 (one-invocation variant); flatten 96; fc 5.
const layers = () => [
  new Conv2D({ name: 'conv1', filters: 4, kernelSize: 3, padding: [1, 1, 1, 1], kernel: w1, bias: b1 }),
  new ReLU({ name: 'relu1' }),
  new MaxPool2D({ name: 'pool1', kernel: 2 }),
  new Conv2D({ name: 'conv2', filters: 6, kernelSize: 3, activation: 'relu', kernel: w2, bias: b2 }),
  new Flatten({ name: 'flatten' }),
  new Dense({ name: 'fc', units: 5, kernel: w3, bias: b3 }),
];
const ref: RefLayer[] = [
  { kind: 'conv', weight: w1, bias: b1, outC: 4, k: 3, stride: 1, pad: [1, 1, 1, 1], dilation: 1, groups: 1, relu: false },
  { kind: 'relu' },
  { kind: 'maxpool', k: 2, stride: 2, pad: [0, 0, 0, 0] },
  { kind: 'conv', weight: w2, bias: b2, outC: 6, k: 3, stride: 1, pad: [0, 0, 0, 0], dilation: 1, groups: 1, relu: true },
  { kind: 'flatten' },
  { kind: 'dense', weight: w3, bias: b3, units: 5, relu: false },
];
const LAYERS = ['relu1', 'pool1', 'conv2', 'fc'];
const INDEX: Record<string, number> = { relu1: 1, pool1: 2, conv2: 3, fc: 5 };

// 40 random images; image 3 is made strong and image 25 is an exact copy of it
// (equal values in two images: the lower index must come first); image 30 is
// constant, so its maps are flat inside (equal values at many positions).
const images = rnd.array(COUNT * SIZE, 0, 1);
for (let i = 0; i < SIZE; i++) images[3 * SIZE + i]! *= 2.5;
images.copyWithin(25 * SIZE, 3 * SIZE, 4 * SIZE);
images.fill(2, 30 * SIZE, 31 * SIZE);
const image = (i: number) => images.subarray(i * SIZE, (i + 1) * SIZE);

interface Kept { imageIndex: number; position: number; value: number }

/** Written from the definition: per image the map's max (first position on ties), then the k largest, lower image first on ties. */
function bruteForce(act: ArrayLike<number>, n: number, channels: number, plane: number, k: number): Kept[][] {
  return Array.from({ length: channels }, (_, c) => {
    const perImage: Kept[] = [];
    for (let b = 0; b < n; b++) {
      let best = 0;
      for (let i = 1; i < plane; i++) if (act[(b * channels + c) * plane + i]! > act[(b * channels + c) * plane + best]!) best = i;
      perImage.push({ imageIndex: b, position: best, value: act[(b * channels + c) * plane + best]! });
    }
    return perImage.sort((a, b) => b.value - a.value || a.imageIndex - b.imageIndex).slice(0, k);
  });
}

function crop(img: ArrayLike<number>, box: { top: number; left: number; height: number; width: number }): Float32Array {
  const out = new Float32Array(box.height * box.width);
  for (let y = 0; y < box.height; y++) for (let x = 0; x < box.width; x++) {
    const iy = box.top + y, ix = box.left + x;
    out[y * box.width + x] = iy >= 0 && iy < 12 && ix >= 0 && ix < 12 ? img[iy * 12 + ix]! : 0;
  }
  return out;
}

let rt: Runtime;
let model: Model;
let result: TopKResult[];
const progress: Progress[] = [];
let cost: { submits: number; bytesRead: number };
beforeAll(async () => {
  rt = await getRuntime();
  model = createModel(rt, { inputShape: SHAPE, layers: layers() });
  const before = { ...rt.stats };
  result = await topActivations(model, { images, count: COUNT }, {
    layers: LAYERS, k: 5, batchSize: 16, onProgress: (p) => progress.push({ ...p }),
  });
  cost = { submits: rt.stats.submits - before.submits, bytesRead: rt.stats.bytesRead - before.bytesRead };
});
afterAll(() => model?.destroy());

describe('topActivations: the kept set', () => {
  it('equals a brute force over the GPU activations exactly (values, images, positions, order, ties)', async () => {
    const fwd = await model.forward(images);
    for (const r of result) {
      const name = r.layer;
      const shape = model.info[INDEX[name]!]!.outputShape;
      const plane = shape.slice(1).reduce((a, b) => a * b, 1);
      const expected = bruteForce(await fwd.activation(name).read(), COUNT, shape[0]!, plane, 5);
      expect(r.channels).toBe(shape[0]);
      expect(r.k).toBe(5);
      expect(r.top.length).toBe(shape[0]);
      const width = shape[2] ?? 1;
      const got = r.top.map((list) => list.map((a) => ({ imageIndex: a.imageIndex, position: a.y * width + a.x, value: a.value })));
      expect(got, name).toEqual(expected);
    }
    fwd.release();
  });

  it('the tie cases occur: the copied image 25 follows image 3 with the same value', () => {
    let pairs = 0;
    for (const r of result) for (const list of r.top) {
      const i3 = list.findIndex((a) => a.imageIndex === 3), i25 = list.findIndex((a) => a.imageIndex === 25);
      if (i3 >= 0 && i25 >= 0) {
        expect(i25).toBe(i3 + 1);
        expect(list[i25]!.value).toBe(list[i3]!.value);
        pairs++;
      }
    }
    expect(pairs).toBeGreaterThan(3);
  });

  it('equals a brute force over the float64 reference net (same images, positions and order; values close)', () => {
    const saved = refForward(ref, { data: Float64Array.from(images), shape: [COUNT, ...SHAPE] });
    for (const r of result) {
      const act = saved[INDEX[r.layer]!]!.output;
      const plane = act.shape.slice(2).reduce((a, b) => a * b, 1);
      const expected = bruteForce(act.data, COUNT, act.shape[1]!, plane, 5);
      const width = act.shape[3] ?? 1;
      r.top.forEach((list, c) => {
        expect(list.map((a) => [a.imageIndex, a.y * width + a.x]), `${r.layer} channel ${c}`)
          .toEqual(expected[c]!.map((e) => [e.imageIndex, e.position]));
        expectClose(list.map((a) => a.value), expected[c]!.map((e) => e.value), `${r.layer} channel ${c} values`);
      });
    }
  });

  it('boxes are the receptive fields and patches are the input under them, zero outside the image', () => {
    let clipped = 0;
    for (const r of result) for (const list of r.top) for (const a of list) {
      expect(a.box).toEqual(fieldBox(model, r.layer, a.y, a.x));
      expect(a.patch.shape).toEqual([1, a.box.height, a.box.width]);
      expect(Array.from(a.patch.data)).toEqual(Array.from(crop(image(a.imageIndex), a.box)));
      if (a.box.top < 0 || a.box.left < 0 || a.box.top + a.box.height > 12 || a.box.left + a.box.width > 12) clipped++;
    }
    expect(clipped, 'some boxes reach past the image edge').toBeGreaterThan(0);
  });

  it('projections equal the float64 DeconvNet projection of that single activation, cropped to the box', () => {
    for (const r of result) for (const [c, list] of r.top.entries()) for (const a of list) {
      const saved = refForward(ref, { data: Float64Array.from(image(a.imageIndex)), shape: [1, ...SHAPE] });
      const flat = r.layer === 'fc';
      const full = refProject(ref, saved, INDEX[r.layer]!, c, flat ? 'max' : { y: a.y, x: a.x }, 'deconvnet');
      expect(a.projection!.shape).toEqual([1, a.box.height, a.box.width]);
      expectClose(a.projection!.data, crop(full.data, a.box), `${r.layer} channel ${c} image ${a.imageIndex} (${a.y}, ${a.x})`);
    }
  });

  it('reports progress up to done == total (40 images + 19 projected channels)', () => {
    const last = progress[progress.length - 1]!;
    expect(last).toEqual({ done: COUNT + 4 + 4 + 6 + 5, total: COUNT + 19, stage: 'project' });
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.done).toBeGreaterThanOrEqual(progress[i - 1]!.done);
  });

  it('costs one submit per batch, one table read, then per channel a forward + a projection and one read of k images', () => {
    // 3 batches (16 + 16 + 8) ; 19 channels x 2 submits.
    expect(cost.submits).toBe(3 + 19 * 2);
    // Table: 19 channels x k=5 x 12 bytes; projections: 19 x 5 images x 144 floats.
    expect(cost.bytesRead).toBe(19 * 5 * 12 + 19 * 5 * SIZE * 4);
  });
});

describe('topActivations: options and dataset forms', () => {
  it('k larger than the dataset returns one entry per image, still ordered', async () => {
    const [r] = await topActivations(model, [image(7), image(3), image(11)], { layers: ['conv2'], k: 9, projections: false });
    const fwd = await model.forward(new Float32Array([...image(7), ...image(3), ...image(11)]));
    const expected = bruteForce(await fwd.activation('conv2').read(), 3, 6, 16, 9);
    fwd.release();
    expect(r!.top.map((l) => l.length)).toEqual([3, 3, 3, 3, 3, 3]);
    expect(r!.top.map((l) => l.map((a) => ({ imageIndex: a.imageIndex, position: a.y * 4 + a.x, value: a.value })))).toEqual(expected);
    expect(r!.top[0]![0]!.projection).toBeUndefined();
  });

  it('a channel subset ranks only those channels; every dataset form gives the same result', async () => {
    const opts = { layers: ['conv2', 'relu1'], k: 3, batchSize: 7, channels: [3, 1], mode: 'guided' as const };
    const packed = await topActivations(model, { images, count: COUNT }, opts);
    expect(packed.map((r) => r.selected)).toEqual([[3, 1], [3, 1]]);
    for (const r of packed) {
      r.top.forEach((list, c) => expect(list.length, `${r.layer} channel ${c}`).toBe(c === 1 || c === 3 ? 3 : 0));
      // Same channels of the full run, truncated to k = 3.
      const full = result.find((f) => f.layer === r.layer)!;
      for (const c of [1, 3]) {
        expect(r.top[c]!.map((a) => [a.imageIndex, a.y, a.x, a.value])).toEqual(full.top[c]!.slice(0, 3).map((a) => [a.imageIndex, a.y, a.x, a.value]));
      }
    }
    const perImage = Array.from({ length: COUNT }, (_, i) => image(i).slice());
    const oneShot = (async function* () { for (const im of perImage) yield im; })();
    const reiterable = { async *[Symbol.asyncIterator]() { for (const im of perImage) yield im; } };
    for (const [name, d] of [['array', perImage], ['async generator', oneShot], ['re-iterable', reiterable]] as const) {
      expect(await topActivations(model, d, opts), name).toEqual(packed);
    }
  });

  it('the dataset pass reads back only the final tables: bytesRead does not grow with the number of images', async () => {
    const measure = async (n: number) => {
      const before = { ...rt.stats };
      await topActivations(model, { images: images.subarray(0, n * SIZE), count: n }, { layers: LAYERS, k: 5, batchSize: 16, projections: false });
      return { submits: rt.stats.submits - before.submits, bytesRead: rt.stats.bytesRead - before.bytesRead };
    };
    expect(await measure(40)).toEqual({ submits: 3, bytesRead: 19 * 5 * 12 });
    expect(await measure(17)).toEqual({ submits: 2, bytesRead: 19 * 5 * 12 });
    expect(await measure(5)).toEqual({ submits: 1, bytesRead: 19 * 5 * 12 });
  });

  it('rejects bad options and images with typed errors', async () => {
    await expect(topActivations(model, { images, count: COUNT }, { layers: ['conv2'], channels: [6] })).rejects.toThrow(/channel 6 is out of range for layer "conv2", which has 6 channels/);
    await expect(topActivations(model, { images, count: COUNT }, { layers: ['conv2'], k: 0 })).rejects.toThrow(OutOfRangeError);
    await expect(topActivations(model, { images, count: COUNT }, { layers: ['nope'] })).rejects.toThrow(OutOfRangeError);
    await expect(topActivations(model, [new Float32Array(100)], { layers: ['conv2'] })).rejects.toThrow(ShapeError);
  });
});

describe('topActivations: abort', () => {
  for (const stage of ['forward', 'project'] as const) {
    it(`aborting during ${stage === 'forward' ? 'the dataset pass' : 'the projections'} rejects with AbortError and frees every buffer`, async () => {
      // The full run in beforeAll warmed the pool and the uniform cache.
      const held = rt.bytesHeld, inUse = rt.bytesInUse;
      const ctl = new AbortController();
      const run = topActivations(model, { images, count: COUNT }, {
        layers: LAYERS, k: 5, batchSize: 16, signal: ctl.signal,
        onProgress: (p) => { if (p.stage === stage && p.done >= 16) ctl.abort(); },
      });
      await expect(run).rejects.toMatchObject({ name: 'AbortError' });
      // bytesInUse, not bytesHeld alone: a buffer taken from the pool and never returned leaves bytesHeld unchanged.
      expect(rt.bytesInUse).toBe(inUse);
      expect(rt.bytesHeld).toBe(held);
    });
  }
});

describe('channelMax kernel', () => {
  /** Per (image, listed channel): max and first position, NaN skipped, all-NaN -> 0xffffffff. */
  function expected(act: Float32Array, n: number, c: number, plane: number, list: number[]) {
    const out: number[] = [];
    for (let b = 0; b < n; b++) for (const ch of list) {
      let best = -1;
      for (let i = 0; i < plane; i++) {
        const v = act[(b * c + ch) * plane + i]!;
        if (!Number.isNaN(v) && (best < 0 || v > act[(b * c + ch) * plane + best]!)) best = i;
      }
      out.push(best < 0 ? 0xffffffff : best);
    }
    return out;
  }

  async function run(act: Float32Array, shape: number[], list: number[]) {
    const x = rt.createTensor(shape, act);
    const l = rt.createTensor([list.length], Uint32Array.from(list), 'u32');
    const cand = await rt.run('channel max test', (rec) => channelMax(rec, x, l, 'test'));
    const raw = await rt.readU32(cand);
    x.release(); l.release(); cand.release();
    const values = new Float32Array(raw.buffer);
    return { positions: Array.from(raw.filter((_, i) => i % 2 === 1)), values: Array.from(values.filter((_, i) => i % 2 === 0)) };
  }

  for (const plane of [9, 65, 300]) {
    it(`plane ${plane} (${plane <= 64 ? 'one invocation' : 'one workgroup'} per map): ties to the first position, NaN skipped, all-NaN maps marked`, async () => {
      const r = makeRandom(plane);
      const n = 3, c = 5;
      // Values on a coarse grid so that ties are common; some NaNs; map (1, 2) all NaN.
      const act = Float32Array.from({ length: n * c * plane }, () => Math.floor(r.uniform(-4, 4)));
      for (let i = 0; i < act.length; i += 7) act[i] = NaN;
      act.fill(NaN, (1 * c + 2) * plane, (1 * c + 3) * plane);
      const list = [4, 2, 0];
      const got = await run(act, [n, c, plane], list);
      const want = expected(act, n, c, plane, list);
      expect(got.positions).toEqual(want);
      want.forEach((pos, j) => {
        if (pos !== 0xffffffff) expect(got.values[j]).toBe(act[(Math.floor(j / 3) * c + list[j % 3]!) * plane + pos]);
      });
      expect(want).toContain(0xffffffff);
    });
  }

  it('more maps than 65535 workgroups fold the dispatch into y', async () => {
    const n = 1, c = 65600, plane = 65;
    const act = new Float32Array(n * c * plane);
    for (let ch = 0; ch < c; ch++) act[ch * plane + ((ch * 31) % plane)] = 1 + (ch % 5); // one peak per map
    const list = Array.from({ length: c }, (_, i) => i);
    const got = await run(act, [n, c, plane], list);
    expect(got.positions).toEqual(list.map((ch) => (ch * 31) % plane));
    expect(got.values).toEqual(list.map((ch) => 1 + (ch % 5)));
  });
});
