// Occlusion sensitivity (Zeiler & Fergus Fig. 7) against a brute-force CPU
// loop: occlude on the CPU at every position, run the float64 reference net,
// take (a) the strongest channel's total, (b) the class probability, (c) the
// top label. Also the `occlude` and `reduce_rows` kernels on their own.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createModel, OutOfRangeError, ShapeError, type Runtime, type Model } from '../src/index.js';
import { occlusionSensitivity } from '../src/analysis/occlusion.js';
import { occludeGrid, occludeBoxes } from '../src/ops/occlude.js';
import { reduceRows } from '../src/ops/reduce_rows.js';
import { expectClose } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { makeTestNet, testNetModel, TEST_INPUT_SHAPE } from './helpers/nets.js';
import { refForward, type RefLayer } from './ref/net.js';

const [C, H, W] = TEST_INPUT_SHAPE as [number, number, number];
const net = makeTestNet(3);
const image = makeRandom(11).array(C * H * W, 0, 1);

let rt: Runtime;
let model: Model;
let logits: Model; // the same net without its Softmax
beforeAll(async () => {
  ({ rt, model } = await testNetModel(net));
  logits = createModel(rt, { inputShape: TEST_INPUT_SHAPE, layers: net.layers().slice(0, -1) });
});
afterAll(() => { model?.destroy(); logits?.destroy(); });

/** The image with rows top..top+size-1, columns left..left+size-1 set to fill in every channel. */
function occludeCpu(src: ArrayLike<number>, top: number, left: number, h: number, w: number, fill: number): Float64Array {
  const out = Float64Array.from(src as ArrayLike<number>);
  for (let c = 0; c < C; c++) for (let y = top; y < top + h; y++) for (let x = left; x < left + w; x++) out[(c * H + y) * W + x] = fill;
  return out;
}

function argmax(a: ArrayLike<number>, from: number, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (a[from + i]! > a[from + best]!) best = i;
  return best;
}

/** The whole experiment by brute force in float64. */
function reference(layers: RefLayer[], layer: number, size: number, stride: number, fill: number, classIndex?: number) {
  const rows = Math.floor((H - size) / stride) + 1, cols = Math.floor((W - size) / stride) + 1;
  const P = rows * cols;
  const batch = new Float64Array((P + 1) * C * H * W);
  batch.set(Float64Array.from(image), 0);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
    batch.set(occludeCpu(image, r * stride, c * stride, size, size, fill), (1 + r * cols + c) * C * H * W);
  }
  const saved = refForward(layers, { data: batch, shape: [P + 1, C, H, W] });
  const act = saved[layer]!.output, out = saved[saved.length - 1]!.output;
  const channels = act.shape[1]!, plane = act.data.length / (P + 1) / channels;
  const K = out.shape[1]!;
  const channelSum = (n: number, ch: number) => {
    let s = 0;
    for (let i = 0; i < plane; i++) s += act.data[(n * channels + ch) * plane + i]!;
    return s;
  };
  const sums = Array.from({ length: channels }, (_, ch) => channelSum(0, ch));
  const strongest = argmax(sums, 0, channels);
  const top0 = argmax(out.data, 0, K);
  const cls = classIndex ?? top0;
  const feature = new Float64Array(P), prob = new Float64Array(P), topLabel = new Int32Array(P), topProb = new Float64Array(P);
  const margins: number[] = [];
  for (let p = 0; p < P; p++) {
    feature[p] = channelSum(p + 1, strongest);
    prob[p] = out.data[(p + 1) * K + cls]!;
    topLabel[p] = argmax(out.data, (p + 1) * K, K);
    topProb[p] = out.data[(p + 1) * K + topLabel[p]!]!;
    const sorted = Array.from(out.data.subarray((p + 1) * K, (p + 2) * K)).sort((a, b) => b - a);
    margins.push(sorted[0]! - sorted[1]!);
  }
  const sortedSums = [...sums].sort((a, b) => b - a);
  return {
    rows, cols, strongest, cls, feature, prob, topLabel, topProb, margins,
    strongestMargin: sortedSums[0]! - sortedSums[1]!,
    unoccluded: { feature: sums[strongest]!, prob: out.data[cls]!, top: top0 },
  };
}

const REL = { rel: 1e-4, elem: 1e-4 };

describe('occlusionSensitivity equals a CPU loop over positions', () => {
  const cases = [
    { what: 'conv2, 5x5 squares, stride 2, batches of 10 (56 positions: 5 full + 6)', layer: 'conv2', size: 5, stride: 2, batchSize: 10 },
    { what: 'pool1 by index, 4x4 squares with the default stride 2, black fill, class 3, one batch', layer: 2, size: 4, fill: 0, classIndex: 3, batchSize: 100 },
    { what: 'fc1 (a flat layer: a unit is a channel), 7x7, stride 3, batches of 1', layer: 'fc1', size: 7, stride: 3, batchSize: 1 },
  ] as const;
  for (const c of cases) {
    it(c.what, async () => {
      const result = await occlusionSensitivity(model, image, { ...c });
      const li = model.layerIndex(c.layer);
      const stride = 'stride' in c ? c.stride : Math.round(c.size / 2);
      const fill = 'fill' in c ? c.fill : 0.5;
      const ref = reference(net.ref, li, c.size, stride, fill, 'classIndex' in c ? c.classIndex : undefined);
      expect([result.rows, result.cols, result.size, result.stride]).toEqual([ref.rows, ref.cols, c.size, stride]);
      expect(result.layer).toBe(model.layers[li]!.name);
      expect(ref.strongestMargin, 'the strongest channel is not a near tie').toBeGreaterThan(1e-4);
      expect(result.strongestChannel).toBe(ref.strongest);
      expect(result.classIndex).toBe(ref.cls);
      expectClose(result.featureActivation, ref.feature, '(a) feature activation', REL);
      expectClose(result.classProbability, ref.prob, '(b) class probability', REL);
      expectClose(result.topProbability, ref.topProb, '(c) top probability', REL);
      // Labels must match wherever the top two classes are not a float32 near-tie.
      const decisive = ref.margins.map((m) => m > 1e-5);
      expect(decisive.filter(Boolean).length).toBeGreaterThan(ref.margins.length * 0.9);
      expect(Array.from(result.topLabel).filter((_, p) => decisive[p])).toEqual(Array.from(ref.topLabel).filter((_, p) => decisive[p]));
      expect(result.unoccluded.topLabel).toBe(ref.unoccluded.top);
      expectClose([result.unoccluded.featureActivation, result.unoccluded.classProbability], [ref.unoccluded.feature, ref.unoccluded.prob], 'unoccluded', REL);
      // Occluding must change something, or the test proves little.
      expect(Math.max(...result.featureActivation) - Math.min(...result.featureActivation)).toBeGreaterThan(1e-3);
    });
  }

  it('a model without a Softmax reports its raw scores (nothing applied)', async () => {
    const result = await occlusionSensitivity(logits, image, { layer: 'conv1', size: 6, stride: 6, classIndex: 1 });
    const ref = reference(net.ref.slice(0, -1), 0, 6, 6, 0.5, 1);
    expectClose(result.classProbability, ref.prob, 'class score', REL);
    const probs = reference(net.ref, 0, 6, 6, 0.5, 1).prob;
    const gap = Math.max(...Array.from(ref.prob, (v, i) => Math.abs(v - probs[i]!)));
    expect(gap, 'scores, not probabilities').toBeGreaterThan(1e-2);
  });
});

describe('occlusionSensitivity: cost, progress, cancellation', () => {
  const options = { layer: 'conv2', size: 5, stride: 2, batchSize: 10 };
  const P = 8 * 7, batches = Math.ceil(P / 10);

  it('full path: reads back 5 + 4 floats per position and makes 2 submits per batch + 2', async () => {
    const full = { ...options, incremental: false };
    await occlusionSensitivity(model, image, full); // pipelines and pool warm
    const before = { ...rt.stats };
    const result = await occlusionSensitivity(model, image, full);
    expect(result.path).toBe('full');
    expect(result.fallback).toBeUndefined();
    expect(rt.stats.bytesRead - before.bytesRead).toBe(4 * (5 + 4 * P));
    expect(rt.stats.submits - before.submits).toBe(2 + 2 * batches);
  });

  it('incremental path (the default): reads back 5 + 4 floats per position and makes 1 submit per batch + 2', async () => {
    await occlusionSensitivity(model, image, options);
    const before = { ...rt.stats };
    const result = await occlusionSensitivity(model, image, options);
    expect(result.path).toBe('incremental');
    expect(rt.stats.bytesRead - before.bytesRead).toBe(4 * (5 + 4 * P));
    expect(rt.stats.submits - before.submits).toBe(2 + batches);
  });

  it('reports progress, ending with done == total', async () => {
    const seen: Array<{ done: number; total: number; stage: string }> = [];
    await occlusionSensitivity(model, image, { ...options, onProgress: (p) => seen.push({ ...p }) });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen[seen.length - 1]).toEqual({ done: P, total: P, stage: 'occlusion' });
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.done).toBeGreaterThan(seen[i - 1]!.done);
  });

  it('an abort mid-run rejects with AbortError and frees every buffer', async () => {
    await occlusionSensitivity(model, image, options);
    const held = rt.bytesHeld, inUse = rt.bytesInUse;
    const controller = new AbortController();
    let calls = 0;
    const run = occlusionSensitivity(model, image, {
      ...options,
      signal: controller.signal,
      onProgress: (p) => { calls++; if (p.done < p.total) controller.abort(); },
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(calls).toBe(1);
    // bytesInUse, not bytesHeld alone: a buffer taken from the pool and never returned leaves bytesHeld unchanged.
    expect(rt.bytesInUse).toBe(inUse);
    expect(rt.bytesHeld).toBe(held);
    // An already-aborted signal rejects before any work.
    await expect(occlusionSensitivity(model, image, { ...options, signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    expect(rt.bytesInUse).toBe(inUse);
    expect(rt.bytesHeld).toBe(held);
  });

  it('typed errors for bad options', async () => {
    await expect(occlusionSensitivity(model, image, { layer: 'conv2', size: 18 })).rejects.toThrow(OutOfRangeError);
    await expect(occlusionSensitivity(model, image, { layer: 'conv2', size: 4, stride: 0 })).rejects.toThrow(/stride 0/);
    await expect(occlusionSensitivity(model, image, { layer: 'conv2', size: 4, classIndex: 5 })).rejects.toThrow(/classIndex 5 .* 5 classes/);
    await expect(occlusionSensitivity(model, image, { layer: 'nope', size: 4 })).rejects.toThrow(/no layer is named "nope"/);
    await expect(occlusionSensitivity(model, new Float32Array(10), { layer: 0, size: 4 })).rejects.toThrow(ShapeError);
    await expect(occlusionSensitivity(model, image, { layer: 0, size: 4, batchSize: 0 })).rejects.toThrow(/batchSize 0/);
  });
});

describe('occlude kernel', () => {
  it('grid: copy n has the square at grid position first + n, every channel', async () => {
    const img = rt.createTensor([1, C, H, W], image);
    const size = 4, stride = 3, cols = Math.floor((W - size) / stride) + 1;
    const out = await rt.run('test occlude grid', (rec) => occludeGrid(rec, img, { size, stride, cols, first: 5, copies: 7, fill: -2 }));
    const got = await out.read();
    const want = new Float64Array(7 * C * H * W);
    for (let n = 0; n < 7; n++) {
      const pos = 5 + n, r = Math.floor(pos / cols), c = pos % cols;
      want.set(occludeCpu(image, r * stride, c * stride, size, size, -2), n * C * H * W);
    }
    expect(Array.from(got)).toEqual(Array.from(want, Math.fround));
    out.release(); img.release();
  });

  it('boxes: each copy from its own source image with its own box; empty boxes copy', async () => {
    const two = makeRandom(5).array(2 * C * H * W, 0, 1);
    const imgs = rt.createTensor([2, C, H, W], two);
    const boxes = [
      { image: 1, top: 0, left: 0, height: 3, width: 17 },
      { image: 0, top: 10, left: 12, height: 9, width: 5 },
      { image: 1, top: 4, left: 4, height: 0, width: 0 },
    ];
    const out = await rt.run('test occlude boxes', (rec) => occludeBoxes(rec, imgs, boxes, 0.25));
    const got = await out.read();
    const per = C * H * W;
    boxes.forEach((b, n) => {
      const want = occludeCpu(two.subarray(b.image * per, (b.image + 1) * per), b.top, b.left, b.height, b.width, 0.25);
      expect(Array.from(got.subarray(n * per, (n + 1) * per)), `copy ${n}`).toEqual(Array.from(want, Math.fround));
    });
    await expect(rt.run('bad box', (rec) => occludeBoxes(rec, imgs, [{ image: 2, top: 0, left: 0, height: 1, width: 1 }], 0))).rejects.toThrow(/box 0 \(image 2/);
    out.release(); imgs.release();
  });
});

describe('reduce_rows kernel', () => {
  it('sum and argmax over strided rows, at an output offset; ties go to the lowest index', async () => {
    const rows = 5, stride = 300, length = 270, offset = 17;
    const data = makeRandom(8).array(rows * stride + 20, -1, 1);
    data[2 * stride + offset + 100] = 5; data[2 * stride + offset + 200] = 5; // tie in row 2
    const x = rt.createTensor([data.length], data);
    const out = rt.createTensor([3 + 3 * rows]);
    await rt.run('test reduce', (rec) => {
      reduceRows(rec, x, out, { op: 'sum', rows, length, rowStride: stride, offset, outOffset: 3 });
      reduceRows(rec, x, out, { op: 'argmax', rows, length, rowStride: stride, offset, outOffset: 3 + rows });
    });
    const got = await out.read();
    for (let r = 0; r < rows; r++) {
      const row = Array.from(data.subarray(r * stride + offset, r * stride + offset + length));
      expectClose([got[3 + r]!], [row.reduce((a, b) => a + b, 0)], `sum row ${r}`, { rel: 1e-5, elem: 1e-5 });
      const k = argmax(row, 0, length);
      expect([got[3 + rows + 2 * r], got[3 + rows + 2 * r + 1]]).toEqual([row[k], k]);
    }
    expect(got[3 + rows + 2 * 2 + 1]).toBe(100);
    await expect(rt.run('bad', (rec) => reduceRows(rec, x, out, { op: 'sum', rows: 6, length, rowStride: stride, offset }))).rejects.toThrow(/row 5 .* runs past the end/);
    x.release(); out.release();
  });
});
