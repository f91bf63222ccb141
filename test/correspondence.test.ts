// Correspondence (Zeiler & Fergus Sec. 5.2, Table 1) against a float64 CPU
// computation from the definition: eps_i = x_i - x~_i (original minus masked
// features), Delta = sum over pairs i < j of the Hamming distance between
// sign(eps_i) and sign(eps_j). Also the sign-mismatch and sqdist reductions.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { OutOfRangeError, ShapeError, type Runtime, type Model } from '../src/index.js';
import { correspondence, randomMasks, type Mask } from '../src/analysis/correspondence.js';
import { reduceRows } from '../src/ops/reduce_rows.js';
import { expectClose } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { makeTestNet, testNetModel, TEST_INPUT_SHAPE } from './helpers/nets.js';
import { refForward } from './ref/net.js';

const [C, H, W] = TEST_INPUT_SHAPE as [number, number, number];
const PER = C * H * W;
const net = makeTestNet(6);
const images = [0, 1, 2].map((i) => makeRandom(30 + i).array(PER, 0, 1));
const masks: Mask[] = [
  { top: 3, left: 4, height: 5, width: 4 },
  { top: 9, left: 2, height: 5, width: 4 },
  { top: 0, left: 12, height: 5, width: 4 },
];
const layers = ['conv1', 'pool1', 'conv2', 'fc1'];

let rt: Runtime;
let model: Model;
beforeAll(async () => {
  ({ rt, model } = await testNetModel(net));
});
afterAll(() => model?.destroy());

function masked(src: Float32Array, m: Mask, fill: number): Float64Array {
  const out = Float64Array.from(src);
  for (let c = 0; c < C; c++) for (let y = m.top; y < m.top + m.height; y++) for (let x = m.left; x < m.left + m.width; x++) out[(c * H + y) * W + x] = fill;
  return out;
}

/**
 * Delta per layer for one set of masks, in float64. `ambiguous` counts the
 * pair-features where some |eps| is nonzero but under 1e-5 of the layer's
 * largest activation: there float32 may round a sign the other way, so the
 * GPU count may differ from this one by at most that many.
 */
function deltaCpu(set: readonly Mask[], fill: number) {
  const N = images.length;
  const batch = new Float64Array(2 * N * PER);
  images.forEach((img, i) => { batch.set(Float64Array.from(img), i * PER); batch.set(masked(img, set[i]!, fill), (N + i) * PER); });
  const saved = refForward(net.ref, { data: batch, shape: [2 * N, C, H, W] });
  return layers.map((name) => {
    const act = saved[model.layerIndex(name)]!.output.data, F = act.length / (2 * N);
    const scale = Math.max(...Array.from(act, Math.abs));
    const eps = images.map((_, i) => Array.from({ length: F }, (_, k) => act[i * F + k]! - act[(N + i) * F + k]!));
    let delta = 0, ambiguous = 0;
    for (let i = 0; i < N; i++) for (let j = i + 1; j < N; j++) {
      for (let k = 0; k < F; k++) {
        if (Math.sign(eps[i]![k]!) !== Math.sign(eps[j]![k]!)) delta++;
        if ([eps[i]![k]!, eps[j]![k]!].some((e) => e !== 0 && Math.abs(e) < 1e-5 * scale)) ambiguous++;
      }
    }
    return { delta, ambiguous, F };
  });
}

describe('correspondence equals the CPU definition', () => {
  it('Delta for the given masks and for 2 seeded random trials', async () => {
    const result = await correspondence(model, images, masks, { layers, randomTrials: 2, seed: 7 });
    expect(result.layers).toEqual(layers);
    expect(result.randomMasks).toEqual(randomMasks(masks, H, W, 2, 7));
    const real = deltaCpu(masks, 0.5);
    layers.forEach((name, l) => {
      const r = real[l]!;
      expect(r.ambiguous, `${name}: float32-ambiguous signs`).toBeLessThan(0.01 * 3 * r.F);
      expect(Math.abs(result.delta[l]! - r.delta), `${name}: Delta ${result.delta[l]} vs ${r.delta}`).toBeLessThanOrEqual(r.ambiguous);
      expect(r.delta, `${name}: Delta is not trivially 0`).toBeGreaterThan(0);
    });
    const trials = result.randomMasks.map((set) => deltaCpu(set, 0.5));
    layers.forEach((name, l) => {
      const mean = (trials[0]![l]!.delta + trials[1]![l]!.delta) / 2;
      const slack = (trials[0]![l]!.ambiguous + trials[1]![l]!.ambiguous) / 2;
      expect(Math.abs(result.randomDelta[l]! - mean), `${name}: random Delta`).toBeLessThanOrEqual(slack);
    });
  });

  it('random masks: same sizes, inside the image, reproducible from the seed', () => {
    const a = randomMasks(masks, H, W, 5, 3), b = randomMasks(masks, H, W, 5, 3), c = randomMasks(masks, H, W, 5, 4);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    for (const set of a) set.forEach((m, i) => {
      expect([m.height, m.width]).toEqual([masks[i]!.height, masks[i]!.width]);
      expect(m.top >= 0 && m.left >= 0 && m.top + m.height <= H && m.left + m.width <= W).toBe(true);
    });
  });

  it('identical images with identical masks give Delta 0 at every layer', async () => {
    const same = [images[0]!, images[0]!, images[0]!];
    const result = await correspondence(model, same, [masks[0]!, masks[0]!, masks[0]!], { layers, randomTrials: 0, fill: 0 });
    expect(result.delta).toEqual([0, 0, 0, 0]);
    expect(result.randomDelta.every(Number.isNaN)).toBe(true);
  });

  it('cost: one read of layers x sets x pairs floats; 2 submits per mask set + 1', async () => {
    const options = { layers, randomTrials: 3 };
    await correspondence(model, images, masks, options);
    const before = { ...rt.stats };
    await correspondence(model, images, masks, options);
    expect(rt.stats.bytesRead - before.bytesRead).toBe(4 * layers.length * 4 * 3);
    expect(rt.stats.submits - before.submits).toBe(2 + 2 * 4);
  });

  it('progress ends with done == total; an abort rejects with AbortError and frees every buffer', async () => {
    const options = { layers, randomTrials: 3 };
    const seen: Array<[number, number]> = [];
    await correspondence(model, images, masks, { ...options, onProgress: (p) => seen.push([p.done, p.total]) });
    expect(seen[seen.length - 1]).toEqual([12, 12]);
    const held = rt.bytesHeld, inUse = rt.bytesInUse;
    const controller = new AbortController();
    const run = correspondence(model, images, masks, { ...options, signal: controller.signal, onProgress: () => controller.abort() });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    // bytesInUse, not bytesHeld alone: a buffer taken from the pool and never returned leaves bytesHeld unchanged.
    expect(rt.bytesInUse).toBe(inUse);
    expect(rt.bytesHeld).toBe(held);
  });

  it('typed errors', async () => {
    await expect(correspondence(model, [images[0]!], [masks[0]!], { layers })).rejects.toThrow(ShapeError);
    await expect(correspondence(model, images, masks.slice(0, 2), { layers })).rejects.toThrow(/2 masks for 3 images/);
    await expect(correspondence(model, images, [masks[0]!, masks[1]!, { top: 16, left: 0, height: 5, width: 1 }], { layers })).rejects.toThrow(OutOfRangeError);
  });
});

describe('reduce_rows: sign-mismatch and sqdist', () => {
  it('Hamming distance of ternary signs per pair, and distances to a reference row', async () => {
    const rows = 4, F = 600;
    const rnd = makeRandom(12);
    // Values from a few levels so that exact zeros and ties appear.
    const level = () => [-1, 0, 0, 0.5, 2][rnd.int(0, 4)]!;
    const orig = Float32Array.from({ length: rows * F }, level);
    const mask = Float32Array.from({ length: rows * F }, level);
    const ref = Float32Array.from({ length: F }, level);
    const pairs: Array<[number, number]> = [[0, 1], [0, 3], [2, 1], [3, 3]];
    const x = rt.createTensor([rows, F], mask), base = rt.createTensor([rows, F], orig), r = rt.createTensor([F], ref);
    const out = rt.createTensor([2 + pairs.length + rows]);
    await rt.run('test sign', (rec) => {
      reduceRows(rec, x, out, { op: 'sign-mismatch', pairs, length: F, base, outOffset: 2 });
      reduceRows(rec, x, out, { op: 'sqdist', rows, length: F, base: r, root: true, outOffset: 2 + pairs.length });
      reduceRows(rec, x, out, { op: 'sqdist', rows: 2, length: F, base: r, outOffset: 0 });
    });
    const got = await out.read();
    const want = pairs.map(([i, j]) => {
      let n = 0;
      for (let k = 0; k < F; k++) if (Math.sign(orig[i * F + k]! - mask[i * F + k]!) !== Math.sign(orig[j * F + k]! - mask[j * F + k]!)) n++;
      return n;
    });
    expect(Array.from(got.subarray(2, 2 + pairs.length))).toEqual(want);
    expect(want[3]).toBe(0);
    const sq = Array.from({ length: rows }, (_, i) => { let s = 0; for (let k = 0; k < F; k++) s += (mask[i * F + k]! - ref[k]!) ** 2; return s; });
    expectClose(got.subarray(2 + pairs.length), sq.map(Math.sqrt), 'distances');
    expectClose(got.subarray(0, 2), sq.slice(0, 2), 'squared distances');
    await expect(rt.run('bad pair', (rec) => reduceRows(rec, x, out, { op: 'sign-mismatch', pairs: [[0, 4]], length: F, base }))).rejects.toThrow(/row 4/);
    x.release(); base.release(); r.release(); out.release();
  });
});
