// Invariance curves (Zeiler & Fergus Fig. 5) against a float64 CPU path:
// warp the image on the CPU (exact shifts for integer translations, bilinear
// with a constant border otherwise, the inverse map found by inverting the
// forward transform), run the reference net, take Euclidean distances to the
// original's features. Also the `affine_warp` kernel on its own.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { OutOfRangeError, type Runtime, type Model } from '../src/index.js';
import { invarianceCurves, transformSeries, inverseMatrix, type Transform } from '../src/analysis/invariance.js';
import { affineWarp } from '../src/ops/affine_warp.js';
import { expectClose } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { makeTestNet, testNetModel, TEST_INPUT_SHAPE } from './helpers/nets.js';
import { refForward } from './ref/net.js';

const [C, H, W] = TEST_INPUT_SHAPE as [number, number, number];
const net = makeTestNet(4);
const image = makeRandom(21).array(C * H * W, 0, 1);

let rt: Runtime;
let model: Model;
beforeAll(async () => {
  ({ rt, model } = await testNetModel(net));
});
afterAll(() => model?.destroy());

/** The image shifted right by dx and down by dy, fill where nothing comes in. */
function shiftCpu(src: ArrayLike<number>, dx: number, dy: number, fill: number): Float64Array {
  const out = new Float64Array(C * H * W).fill(fill);
  for (let c = 0; c < C; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const sy = y - dy, sx = x - dx;
    if (sy >= 0 && sy < H && sx >= 0 && sx < W) out[(c * H + y) * W + x] = src[(c * H + sy) * W + sx]!;
  }
  return out;
}

/**
 * dst = A (src - centre) + centre + t, the transform as a forward map;
 * sampled by inverting it (2x2 inverse) and interpolating bilinearly, with
 * neighbours outside the image taking the fill value.
 */
function warpCpu(src: ArrayLike<number>, t: Transform, fill: number): Float64Array {
  if (t.kind === 'translate' && Number.isInteger(t.dx) && Number.isInteger(t.dy)) return shiftCpu(src, t.dx, t.dy, fill);
  const cx = (W - 1) / 2, cy = (H - 1) / 2;
  let A: [number, number, number, number] = [1, 0, 0, 1], tx = 0, ty = 0;
  if (t.kind === 'translate') { tx = t.dx; ty = t.dy; }
  if (t.kind === 'scale') A = [t.factor, 0, 0, t.factor];
  if (t.kind === 'rotate') {
    const a = (t.degrees * Math.PI) / 180; // counter-clockwise on screen, y down
    A = [Math.cos(a), Math.sin(a), -Math.sin(a), Math.cos(a)];
  }
  const det = A[0] * A[3] - A[1] * A[2];
  const inv = [A[3] / det, -A[1] / det, -A[2] / det, A[0] / det];
  const out = new Float64Array(C * H * W);
  const at = (c: number, y: number, x: number) => (y < 0 || y >= H || x < 0 || x >= W ? fill : src[(c * H + y) * W + x]!);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const ux = x - cx - tx, uy = y - cy - ty;
    const sx = inv[0]! * ux + inv[1]! * uy + cx, sy = inv[2]! * ux + inv[3]! * uy + cy;
    const x0 = Math.floor(sx), y0 = Math.floor(sy), fx = sx - x0, fy = sy - y0;
    for (let c = 0; c < C; c++) {
      out[(c * H + y) * W + x] = (1 - fy) * ((1 - fx) * at(c, y0, x0) + fx * at(c, y0, x0 + 1))
        + fy * ((1 - fx) * at(c, y0 + 1, x0) + fx * at(c, y0 + 1, x0 + 1));
    }
  }
  return out;
}

async function warpGpu(src: Float32Array, transforms: Transform[], fill: number): Promise<Float32Array> {
  const img = rt.createTensor([1, C, H, W], src);
  const m = new Float32Array(transforms.length * 6);
  transforms.forEach((t, i) => m.set(inverseMatrix(t, H, W), i * 6));
  const mats = rt.createTensor([transforms.length, 6], m);
  const out = await rt.run('test warp', (rec) => affineWarp(rec, img, mats, { first: 0, copies: transforms.length, fill }));
  const data = await out.read();
  out.release(); mats.release(); img.release();
  return data;
}

describe('affine_warp kernel', () => {
  const per = C * H * W;

  it('integer translations give the shifted image exactly', async () => {
    const ts: Transform[] = [{ kind: 'translate', dx: 0, dy: 0 }, { kind: 'translate', dx: 3, dy: -2 }, { kind: 'translate', dx: -16, dy: 18 }, { kind: 'translate', dx: 40, dy: 0 }];
    const got = await warpGpu(image, ts, 0.25);
    ts.forEach((t, n) => {
      const tt = t as { dx: number; dy: number };
      expect(Array.from(got.subarray(n * per, (n + 1) * per)), `translate ${tt.dx},${tt.dy}`).toEqual(Array.from(shiftCpu(image, tt.dx, tt.dy, 0.25), Math.fround));
    });
  });

  it('bilinear scale, rotation and sub-pixel shifts equal the float64 warp', async () => {
    const ts: Transform[] = [
      { kind: 'scale', factor: 1.37 }, { kind: 'scale', factor: 0.6 }, { kind: 'rotate', degrees: 23 },
      { kind: 'rotate', degrees: -140 }, { kind: 'translate', dx: 1.25, dy: -0.5 },
    ];
    const got = await warpGpu(image, ts, -1);
    ts.forEach((t, n) => expectClose(got.subarray(n * per, (n + 1) * per), warpCpu(image, t, -1), JSON.stringify(t)));
  });

  it('directions: +dx moves right, scale grows about the centre, +degrees turns counter-clockwise', async () => {
    const cy = (H - 1) / 2, cx = (W - 1) / 2; // 9, 8: the centre is a pixel
    const dot = new Float32Array(per);
    dot[cy * W + cx + 3] = 1; // channel 0, 3 pixels right of the centre
    const ts: Transform[] = [{ kind: 'translate', dx: 2, dy: 0 }, { kind: 'scale', factor: 2 }, { kind: 'rotate', degrees: 90 }];
    const got = await warpGpu(dot, ts, 0);
    const brightest = (n: number) => {
      let best = 0;
      for (let i = 1; i < H * W; i++) if (got[n * per + i]! > got[n * per + best]!) best = i;
      return [Math.floor(best / W), best % W];
    };
    expect(brightest(0)).toEqual([cy, cx + 5]);
    expect(brightest(1)).toEqual([cy, cx + 6]);
    expect(brightest(2)).toEqual([cy - 3, cx]); // right of centre -> above it
    expect(got[2 * per + (cy - 3) * W + cx]).toBeCloseTo(1, 5);
  });
});

describe('invarianceCurves equals warp + reference forward + distances on the CPU', () => {
  const transforms: Transform[] = [
    { kind: 'translate', dx: 0, dy: 0 }, { kind: 'translate', dx: 2, dy: -1 }, { kind: 'translate', dx: -3, dy: 0 },
    { kind: 'scale', factor: 1.3 }, { kind: 'scale', factor: 0.8 }, { kind: 'rotate', degrees: 15 }, { kind: 'rotate', degrees: -90 },
  ];
  const layers = ['conv1', 'pool2', 'fc2'];

  function reference(fill: number, classIndex?: number) {
    const batch = new Float64Array((transforms.length + 1) * C * H * W);
    batch.set(Float64Array.from(image));
    transforms.forEach((t, i) => batch.set(warpCpu(image, t, fill), (i + 1) * C * H * W));
    const saved = refForward(net.ref, { data: batch, shape: [transforms.length + 1, C, H, W] });
    const out = saved[saved.length - 1]!.output, K = out.shape[1]!;
    let top = 0;
    for (let k = 1; k < K; k++) if (out.data[k]! > out.data[top]!) top = k;
    const cls = classIndex ?? top;
    const distances = layers.map((name) => {
      const act = saved[model.layerIndex(name)]!.output.data, F = act.length / (transforms.length + 1);
      return transforms.map((_, i) => {
        let s = 0;
        for (let k = 0; k < F; k++) s += (act[(i + 1) * F + k]! - act[k]!) ** 2;
        return Math.sqrt(s);
      });
    });
    return { cls, distances, prob: transforms.map((_, i) => out.data[(i + 1) * K + cls]!), original: out.data[cls]! };
  }

  for (const c of [{ batchSize: 3 }, { batchSize: 32, classIndex: 2, fill: 0.5 }]) {
    it(`batchSize ${c.batchSize}${c.classIndex !== undefined ? `, class ${c.classIndex}, fill ${c.fill}` : ''}`, async () => {
      const result = await invarianceCurves(model, image, { transforms, layers, ...c });
      const ref = reference(c.fill ?? 0, c.classIndex);
      expect(result.layers).toEqual(layers);
      expect(result.transforms).toEqual(transforms);
      expect(result.classIndex).toBe(ref.cls);
      layers.forEach((name, l) => {
        expectClose(result.distances[l]!, ref.distances[l]!, `distances at ${name}`, { rel: 1e-4, elem: 1e-4 });
        const max = Math.max(...ref.distances[l]!);
        expect(max, `${name} moves`).toBeGreaterThan(1e-3);
        expect(result.distances[l]![0]!, `identity at ${name}`).toBeLessThanOrEqual(1e-6 * max);
      });
      expectClose(result.classProbability, ref.prob, 'class probability', { rel: 1e-4, elem: 1e-4 });
      expect(result.classProbability[0]).toBeCloseTo(ref.original, 6); // identity = the untransformed prediction
    });
  }

  it('cost: 2 + 4 (layers + 1) floats per transform read, 2 submits per batch + 2', async () => {
    const options = { transforms, layers, batchSize: 3 };
    await invarianceCurves(model, image, options);
    const before = { ...rt.stats };
    await invarianceCurves(model, image, options);
    expect(rt.stats.bytesRead - before.bytesRead).toBe(4 * (2 + (layers.length + 1) * transforms.length));
    expect(rt.stats.submits - before.submits).toBe(2 + 2 * Math.ceil(transforms.length / 3));
  });

  it('progress ends with done == total; an abort rejects with AbortError and frees every buffer', async () => {
    const options = { transforms, layers, batchSize: 2 };
    const seen: number[] = [];
    await invarianceCurves(model, image, { ...options, onProgress: (p) => { seen.push(p.done); expect(p.total).toBe(transforms.length); } });
    expect(seen[seen.length - 1]).toBe(transforms.length);
    const held = rt.bytesHeld, inUse = rt.bytesInUse;
    const controller = new AbortController();
    const run = invarianceCurves(model, image, { ...options, signal: controller.signal, onProgress: () => controller.abort() });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    // bytesInUse, not bytesHeld alone: a buffer taken from the pool and never returned leaves bytesHeld unchanged.
    expect(rt.bytesInUse).toBe(inUse);
    expect(rt.bytesHeld).toBe(held);
  });

  it('typed errors', async () => {
    await expect(invarianceCurves(model, image, { transforms: [{ kind: 'scale', factor: 0 }], layers })).rejects.toThrow(/factor 0/);
    await expect(invarianceCurves(model, image, { transforms: [], layers })).rejects.toThrow(OutOfRangeError);
    await expect(invarianceCurves(model, image, { transforms, layers: ['conv9'] })).rejects.toThrow(/conv9/);
  });
});

describe('transformSeries', () => {
  it('evenly spaced, both ends included', () => {
    expect(transformSeries('translate-x', -4, 4, 5)).toEqual([-4, -2, 0, 2, 4].map((dx) => ({ kind: 'translate', dx, dy: 0 })));
    expect(transformSeries('translate-y', 0, 3, 4).map((t) => (t as { dy: number }).dy)).toEqual([0, 1, 2, 3]);
    expect(transformSeries('scale', 0.5, 1.5, 3)).toEqual([0.5, 1, 1.5].map((factor) => ({ kind: 'scale', factor })));
    expect(transformSeries('rotate', 0, 350, 1)).toEqual([{ kind: 'rotate', degrees: 0 }]);
    expect(() => transformSeries('rotate', 0, 1, 0)).toThrow(OutOfRangeError);
  });
});
