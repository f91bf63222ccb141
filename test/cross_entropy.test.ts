import { describe, expect, it } from 'vitest';
import { checkLabels, crossEntropyStats, softmaxCrossEntropy } from '../src/ops/cross_entropy.js';
import { OutOfRangeError, ShapeError } from '../src/gpu/errors.js';
import type { Recorder } from '../src/gpu/recorder.js';
import type { Runtime } from '../src/gpu/runtime.js';
import type { Tensor } from '../src/gpu/tensor.js';
import { getRuntime, expectClose, counted } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';

/**
 * Float64 reference from the definitions: p = softmax(row) (row max removed,
 * exact algebra), loss = sum over rows of -log p[label], correct = rows whose
 * first maximum is the label, grad = (p - onehot(label)) * scale.
 */
function crossEntropyRef(logits: ArrayLike<number>, labels: ArrayLike<number>, n: number, k: number, scale: number) {
  const grad = new Float64Array(n * k);
  let loss = 0, correct = 0;
  for (let r = 0; r < n; r++) {
    const row = Array.from({ length: k }, (_, j) => logits[r * k + j]!);
    let best = 0;
    for (let j = 1; j < k; j++) if (row[j]! > row[best]!) best = j;
    const m = row[best]!;
    const s = row.reduce((a, v) => a + Math.exp(v - m), 0);
    const label = labels[r]!;
    loss += -(row[label]! - m - Math.log(s));
    if (best === label) correct++;
    for (let j = 0; j < k; j++) grad[r * k + j] = (Math.exp(row[j]! - m) / s - (j === label ? 1 : 0)) * scale;
  }
  return { loss, correct, grad };
}

function setup(rt: Runtime, n: number, k: number, seed: number, lo = -3, hi = 3) {
  const rnd = makeRandom(seed);
  const logitsData = rnd.array(n * k, lo, hi);
  const labelData = Uint32Array.from({ length: n }, () => rnd.int(0, k - 1));
  return {
    logitsData, labelData,
    logits: rt.createTensor([n, k], logitsData),
    labels: rt.createTensor([n], labelData, 'u32'),
    stats: rt.createTensor([2], new Float32Array(2)),
  };
}

function release(...ts: Array<Tensor | null | undefined>) { for (const t of ts) t?.release(); }

const CASES: Array<{ name: string; n: number; k: number; lo?: number; hi?: number }> = [
  { name: 'N=7, K=10', n: 7, k: 10 },
  { name: 'large logits in [-80, 80] stay finite', n: 9, k: 6, lo: -80, hi: 80 },
  { name: 'K=300 (one 256-wide workgroup per row, strided)', n: 3, k: 300 },
  { name: 'N=600 rows (the one-workgroup reduce strides), K=3', n: 600, k: 3 },
  { name: 'K=1', n: 4, k: 1 },
];

describe('softmaxCrossEntropy', () => {
  CASES.forEach((c, index) => {
    it(c.name, async () => {
      const rt = await getRuntime();
      const { logitsData, labelData, logits, labels, stats } = setup(rt, c.n, c.k, 60 + index, c.lo, c.hi);
      const scale = 1 / c.n;
      const { result: grad, passes, submits } = await counted(rt, c.name, (rec) => softmaxCrossEntropy(rec, logits, labels, stats, scale));
      expect(passes).toBe(2);
      expect(submits).toBe(1);
      const ref = crossEntropyRef(logitsData, labelData, c.n, c.k, scale);
      expect(grad.shape).toEqual([c.n, c.k]);
      expectClose(await grad.read(), ref.grad, `${c.name}: gradient`);
      const bytes = rt.stats.bytesRead;
      const [loss, correct] = await stats.read();
      expect(rt.stats.bytesRead - bytes).toBe(8);
      expectClose([loss!], [ref.loss], `${c.name}: loss`);
      expect(correct).toBe(ref.correct);
      release(logits, labels, stats, grad);
    });
  });

  it('the gradient of the mean loss equals float64 central differences', async () => {
    const rt = await getRuntime();
    const n = 5, k = 7;
    const { logitsData, labelData, logits, labels, stats } = setup(rt, n, k, 77, -4, 4);
    const grad = await rt.run('grad', (rec) => softmaxCrossEntropy(rec, logits, labels, stats, 1 / n));
    const x = Float64Array.from(logitsData);
    const meanLoss = () => crossEntropyRef(x, labelData, n, k, 1).loss / n;
    const h = 1e-5;
    const numeric = Array.from(x, (_, i) => {
      const keep = x[i]!;
      x[i] = keep + h; const up = meanLoss();
      x[i] = keep - h; const down = meanLoss();
      x[i] = keep;
      return (up - down) / (2 * h);
    });
    // Finite differences carry ~1e-10 of truncation/rounding error, far under the bar.
    expectClose(await grad.read(), numeric, 'gradient vs finite differences');
    release(logits, labels, stats, grad);
  });

  it('adds into stats across calls (and from a non-zero start)', async () => {
    const rt = await getRuntime();
    const a = setup(rt, 6, 4, 81), b = setup(rt, 11, 4, 82);
    const stats = rt.createTensor([2], new Float32Array([1.5, 2]));
    const [ga, gb] = await rt.run('two batches', (rec) => [
      softmaxCrossEntropy(rec, a.logits, a.labels, stats, 1 / 6),
      softmaxCrossEntropy(rec, b.logits, b.labels, stats, 1 / 11),
    ] as const);
    const ra = crossEntropyRef(a.logitsData, a.labelData, 6, 4, 1), rb = crossEntropyRef(b.logitsData, b.labelData, 11, 4, 1);
    const [loss, correct] = await stats.read();
    expectClose([loss!], [1.5 + ra.loss + rb.loss], 'accumulated loss');
    expect(correct).toBe(2 + ra.correct + rb.correct);
    // A later submit keeps adding.
    await rt.run('third', (rec) => crossEntropyStats(rec, a.logits, a.labels, stats));
    const [loss3, correct3] = await stats.read();
    expectClose([loss3!], [1.5 + 2 * ra.loss + rb.loss], 'accumulated loss, third call');
    expect(correct3).toBe(2 + 2 * ra.correct + rb.correct);
    release(a.logits, a.labels, a.stats, b.logits, b.labels, b.stats, stats, ga, gb);
  });

  it('counts ties for the lowest index, like argmax', async () => {
    const rt = await getRuntime();
    // Row 0: maxima at 1 and 3, label 1 -> hit. Row 1: same, label 3 -> miss.
    // Row 2: all equal, label 0 -> hit. Row 3: max only at the last, label 4 -> hit.
    const k = 5;
    const data = new Float32Array([0, 2, 1, 2, -1, 0, 2, 1, 2, -1, 3, 3, 3, 3, 3, 0, 0, 0, 0, 1]);
    const labelData = new Uint32Array([1, 3, 0, 4]);
    const logits = rt.createTensor([4, k], data), labels = rt.createTensor([4], labelData, 'u32');
    const stats = rt.createTensor([2], new Float32Array(2));
    await rt.run('ties', (rec) => crossEntropyStats(rec, logits, labels, stats));
    const [loss, correct] = await stats.read();
    expect(correct).toBe(3);
    expectClose([loss!], [crossEntropyRef(data, labelData, 4, k, 1).loss], 'loss with ties');
    release(logits, labels, stats);
  });

  it('crossEntropyStats equals the training variant without writing a gradient (2 passes, 1 submit)', async () => {
    const rt = await getRuntime();
    const { logitsData, labelData, logits, labels, stats } = setup(rt, 13, 9, 90);
    const { passes, submits } = await counted(rt, 'eval', (rec) => crossEntropyStats(rec, logits, labels, stats));
    expect([passes, submits]).toEqual([2, 1]);
    const ref = crossEntropyRef(logitsData, labelData, 13, 9, 1);
    const [loss, correct] = await stats.read();
    expectClose([loss!], [ref.loss], 'loss');
    expect(correct).toBe(ref.correct);
    release(logits, labels, stats);
  });

  it('is deterministic run to run', async () => {
    const rt = await getRuntime();
    const { logits, labels } = setup(rt, 600, 7, 91, -10, 10);
    const results: number[][] = [];
    for (let i = 0; i < 3; i++) {
      const stats = rt.createTensor([2], new Float32Array(2));
      const g = await rt.run('repeat', (rec) => softmaxCrossEntropy(rec, logits, labels, stats, 1 / 600));
      results.push([...await stats.read(), ...await g.read()]);
      release(stats, g);
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
    release(logits, labels);
  });

  it('clamps labels >= K on the GPU; checkLabels rejects them on the CPU', async () => {
    const rt = await getRuntime();
    const data = makeRandom(5).array(3 * 4);
    const logits = rt.createTensor([3, 4], data), labels = rt.createTensor([3], new Uint32Array([0, 9, 3]), 'u32');
    const stats = rt.createTensor([2], new Float32Array(2));
    const grad = await rt.run('clamp', (rec) => softmaxCrossEntropy(rec, logits, labels, stats, 1));
    const ref = crossEntropyRef(data, [0, 3, 3], 3, 4, 1);
    expectClose(await grad.read(), ref.grad, 'gradient with the label clamped to K-1');
    expectClose([(await stats.read())[0]!], [ref.loss], 'loss with the label clamped');
    expect(() => checkLabels([0, 9, 3], 4)).toThrow(OutOfRangeError);
    expect(() => checkLabels([0, 9, 3], 4)).toThrow(/entry 1 is 9, not a class index in 0..3/);
    expect(() => checkLabels(new Uint32Array([0, 3, 1]), 4)).not.toThrow();
    expect(() => checkLabels([0, 1.5], 4)).toThrow(/entry 1 is 1.5/);
    release(logits, labels, stats, grad);
  });

  it('holds no extra GPU memory after repeated, failed and abandoned calls', async () => {
    const rt = await getRuntime();
    const { logits, labels, stats } = setup(rt, 20, 5, 92);
    (await rt.run('warm-up', (rec) => softmaxCrossEntropy(rec, logits, labels, stats, 0.05))).release();
    const wrong = rt.createTensor([20], new Float32Array(20));
    const held = rt.bytesHeld;
    for (let i = 0; i < 3; i++) (await rt.run('again', (rec) => softmaxCrossEntropy(rec, logits, labels, stats, 0.05))).release();
    await expect(rt.run('bad', (rec) => softmaxCrossEntropy(rec, logits, wrong, stats, 0.05))).rejects.toBeInstanceOf(ShapeError);
    let g: Tensor | null = null;
    await expect(rt.run('abandoned', (rec) => {
      g = softmaxCrossEntropy(rec, logits, labels, stats, 0.05);
      throw new Error('cancelled');
    })).rejects.toThrow('cancelled');
    g!.release();
    expect(rt.bytesHeld).toBe(held);
    release(logits, labels, stats, wrong);
  });

  describe('errors', () => {
    it('ShapeError naming the tensors', async () => {
      const rt = await getRuntime();
      const logits = rt.createTensor([4, 3]), logits3 = rt.createTensor([2, 2, 3]);
      const labels = rt.createTensor([4], new Uint32Array(4), 'u32'), short = rt.createTensor([3], new Uint32Array(3), 'u32');
      const f32Labels = rt.createTensor([4]);
      const stats = rt.createTensor([2]), stats3 = rt.createTensor([3]);
      const run = (l: Tensor, y: Tensor, s: Tensor) => rt.run('bad', (rec) => softmaxCrossEntropy(rec, l, y, s, 1));
      await expect(run(logits, f32Labels, stats)).rejects.toThrow(/labels \[4\] must be u32 class indices, got f32/);
      await expect(run(logits, short, stats)).rejects.toThrow(/labels \[3\] must be \[4\], one per row of logits \[4,3\]/);
      await expect(run(logits3, labels, stats)).rejects.toThrow(/logits \[2,2,3\] must be 2-D/);
      await expect(run(logits, labels, stats3)).rejects.toThrow(/stats must be an f32 tensor of 2 values.*\[3\]/);
      await expect(run(logits, labels, stats3)).rejects.toBeInstanceOf(ShapeError);
      await expect(rt.run('nan scale', (rec) => softmaxCrossEntropy(rec, logits, labels, stats, NaN))).rejects.toBeInstanceOf(OutOfRangeError);
      await expect(rt.run('eval', (rec) => crossEntropyStats(rec, logits, short, stats))).rejects.toBeInstanceOf(ShapeError);
      release(logits, logits3, labels, short, f32Labels, stats, stats3);
    });
  });
});
