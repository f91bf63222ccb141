// The unpooling fused into the sparse projection (src/deconv/sparse.ts, docs/fusion.md):
// a max pooling's unpool waits for the step below and runs in the loads of the
// next filter step (transposeWindow with `unpool`), or with the ReLU rule of a
// layer below in one pass (unpoolWindow with a rule). Checked against the
// unfused kernels (bit for bit: the same additions in the same order), against
// the unfused walk (same bits, one pass fewer per pooling), and against the
// float64 DeconvNet for the three modes, with odd map sizes, padding, 2x2 and
// overlapping 3x3 stride 2 pools, and windows sticking out at the borders.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createDeconvNet, createModel, createRuntime, type Model, type Runtime, type Tensor } from '../src/index.js';
import { unpoolRef } from './ref/pool.js';
import { counted, expectClose, getRuntime } from './helpers/gpu.js';
import { maxPool2d } from '../src/ops/maxpool2d.js';
import { inputWindow, rectifyWindow, transposeWindow, unpoolWindow, type WindowLevel, type WindowRule } from '../src/ops/window.js';
import { planSparse, runSparse } from '../src/deconv/sparse.js';
import { selectSeed } from '../src/ops/select_seed.js';
import type { Pool2dAttrs } from '../src/ops/pool_geometry.js';
import { kernelKey } from '../shaders/kernel.js';
import { makeRandom } from './helpers/random.js';
import { expectSameBits } from './helpers/same_bits.js';
import { twinChain, twinConv, twinPool, type TwinNet } from './helpers/ref_layers.js';
import { refForward, refProject, type Mode, type T } from './ref/net.js';

const MODES: Mode[] = ['deconvnet', 'guided', 'gradient'];
const RULES: WindowRule[] = ['mask', ...MODES];

let rt: Runtime;
/** The fusions' defaults are per adapter: a runtime on the same device with GPU adapters' kernel style takes the GPU ones. */
let gpuStyle: Runtime;
beforeAll(async () => {
  rt = await getRuntime();
  gpuStyle = await createRuntime({ device: rt.device, kernelStyle: 'tiled' });
});

/**
 * The unpooled window by the float64 scatter (test/ref/pool.ts): the signal
 * window put into a zero pooled map (the part inside it), unpooled on whole
 * maps, and the window at `level` cut out (0 outside the map).
 */
async function unpoolReference(g: Tensor, switches: Tensor, q: WindowLevel, level: WindowLevel, seeds: number[], topW: number): Promise<Float64Array> {
  const [n, c, oh, ow] = switches.shape as [number, number, number, number];
  const [h, w] = [7, 9];
  const gData = await g.read(), sw = await switches.runtime.readU32(switches);
  const origin = (l: WindowLevel, b: number) => [Math.floor(seeds[b]! / topW) * l.a[0] - l.b[0], (seeds[b]! % topW) * l.a[1] - l.b[1]] as const;
  const full = new Float64Array(n * c * oh * ow);
  for (let b = 0; b < n; b++) {
    const [qy, qx] = origin(q, b);
    for (let ch = 0; ch < c; ch++) for (let i = 0; i < q.size[0]; i++) for (let j = 0; j < q.size[1]; j++) {
      const [y, x] = [qy + i, qx + j];
      if (y >= 0 && y < oh && x >= 0 && x < ow) full[((b * c + ch) * oh + y) * ow + x] = gData[((b * c + ch) * q.size[0] + i) * q.size[1] + j]!;
    }
  }
  const dx = unpoolRef(full, sw, [n, c, h, w], oh, ow);
  const out = new Float64Array(n * c * level.size[0] * level.size[1]);
  for (let b = 0; b < n; b++) {
    const [ly, lx] = origin(level, b);
    for (let ch = 0; ch < c; ch++) for (let i = 0; i < level.size[0]; i++) for (let j = 0; j < level.size[1]; j++) {
      const [y, x] = [ly + i, lx + j];
      if (y >= 0 && y < h && x >= 0 && x < w) out[((b * c + ch) * level.size[0] + i) * level.size[1] + j] = dx[((b * c + ch) * h + y) * w + x]!;
    }
  }
  return out;
}

describe('the fused kernels equal the unfused ones bit for bit', () => {
  // A conv output map of 7x9 (odd: a 2x2/2 pooling leaves its last row and column out), pooled three ways.
  // Seeds of a 3x4 top map at two corners; the pooled window 'q' at origin seed - 1 sticks out of the map.
  const n = 2, m = 4, cout = 3, mapShape = [n, m, 7, 9];
  const q: WindowLevel = { size: [2, 3], a: [1, 1], b: [1, 1] };
  const pools: Array<{ name: string; attrs: Pool2dAttrs; k: number; s: number; pad: [number, number]; walk: 'tiled' | 'general' }> = [
    { name: '2x2 stride 2', attrs: { kernel: 2, stride: 2 }, k: 2, s: 2, pad: [0, 0], walk: 'tiled' },
    { name: '3x3 stride 3 padded (tiling, padded)', attrs: { kernel: 3, stride: 3, padding: [1, 2, 1, 0] }, k: 3, s: 3, pad: [1, 2], walk: 'tiled' },
    { name: '3x3 stride 2 padded (overlapping)', attrs: { kernel: 3, stride: 2, padding: [1, 1, 1, 1] }, k: 3, s: 2, pad: [1, 1], walk: 'general' },
  ];
  for (const pool of pools) {
    for (const rule of RULES) {
      it(`${pool.name}, rule ${rule}`, async () => {
        const rnd = makeRandom(91);
        const y = rt.createTensor(mapShape, rnd.array(n * m * 63, -1, 1));
        const w = rt.createTensor([m, cout, 3, 3], rnd.array(m * cout * 9, -0.5, 0.5));
        const chosen = rt.createTensor([n], Uint32Array.from([0, 2 * 4 + 3]), 'u32');
        const seed = { chosen, width: 4 };
        const { switches, output: pooledMap } = await rt.run('pool', (rec) => maxPool2d(rec, y, pool.attrs));
        pooledMap.release();
        const g = rt.createTensor([n, m, ...q.size], rnd.array(n * m * 6, -1, 1));
        const level = inputWindow(q, [pool.k, pool.k], [pool.s, pool.s], [1, 1], pool.pad);
        const conv = { weight: w, stride: [1, 1] as [number, number], dilation: [1, 1] as [number, number], groups: 1 };
        const unpool = { switches, attrs: pool.attrs, level: q };

        const { result: fused, keys } = await counted(rt, 'fused', (rec) => transposeWindow(rec, g, y, level, seed, rule, conv, unpool));
        expect(keys).toEqual([kernelKey('window:transpose', { rule, unpool: pool.walk })]);
        const unfused = await rt.run('unfused', (rec) => {
          const u = rec.temp(unpoolWindow(rec, g, switches, mapShape, pool.attrs, level, q, seed));
          return transposeWindow(rec, u, y, level, seed, rule, conv);
        });
        const unpooled = await rt.run('unpooled', (rec) => unpoolWindow(rec, g, switches, mapShape, pool.attrs, level, q, seed));
        expectClose(await unpooled.read(), await unpoolReference(g, switches, q, level, [0, 2 * 4 + 3], 4), `${pool.name}: unpooled window vs the float64 scatter`);
        unpooled.release();
        const fusedData = await fused.read();
        expect(fusedData.some((v) => v !== 0), 'the signal reaches the output').toBe(true);
        expectSameBits(fusedData, await unfused.read(), `${pool.name} ${rule}: filter step with the unpool in its loads`);

        // The unpool and the rule in one pass (where the step below is not a filter step).
        const { result: both, keys: bothKeys } = await counted(rt, 'unpool+rule', (rec) => unpoolWindow(rec, g, switches, mapShape, pool.attrs, level, q, seed, { rule, y }));
        expect(bothKeys).toEqual([kernelKey('window:unpool', { rule, walk: pool.walk })]);
        const apart = await rt.run('apart', (rec) => {
          const u = rec.temp(unpoolWindow(rec, g, switches, mapShape, pool.attrs, level, q, seed));
          return rectifyWindow(rec, u, y, level, seed, rule);
        });
        expectSameBits(await both.read(), await apart.read(), `${pool.name} ${rule}: unpool + rule`);
        for (const t of [y, w, chosen, switches, g, fused, unfused, both, apart]) t.release();
      });
    }
  }
});

/** conv(relu) <- pool blocks with odd maps, asymmetric pads, a 2x2/2 and an overlapping padded 3x3/2 pool. */
function blockNet(): TwinNet {
  const rnd = makeRandom(93);
  return twinChain('conv-pool blocks', [3, 23, 21], [
    twinConv(rnd, 'c1', { inC: 3, outC: 4, k: 3, pad: [1, 1, 1, 1], relu: true }),  // 23x21
    twinPool('p1', 2, 2),                                                            // 11x10
    twinConv(rnd, 'c2', { inC: 4, outC: 6, k: 3, pad: [1, 0, 1, 2], relu: true }),  // 11x10
    twinPool('p2', 3, 2, [1, 1, 1, 1]),                                              // 6x5
    twinConv(rnd, 'c3', { inC: 6, outC: 5, k: 3, relu: true }),                     // 4x3
  ]);
}

const BATCH = 2;

describe('the sparse walk with the unpool fused', () => {
  let model: Model;
  let input: Float32Array;
  const net = blockNet();
  let saved: ReturnType<typeof refForward>;
  beforeAll(() => {
    model = createModel(rt, { inputShape: net.inputShape, layers: net.layers() });
    input = makeRandom(94).array(BATCH * 3 * 23 * 21, 0, 1);
    const t: T = { data: Float64Array.from(input), shape: [BATCH, ...net.inputShape] };
    saved = refForward(net.ref, t);
  });
  afterAll(() => model.destroy());

  /** The window walk alone (select seed, crop ... place) with the unpool fused or in its own passes. */
  async function walk(fwd: Awaited<ReturnType<Model['forward']>>, layer: string, at: Array<{ y: number; x: number }>, mode: Mode, fuseUnpool: boolean) {
    const top = model.layerIndex(layer);
    const plan = planSparse(fwd, top, { fuseUnpool })!;
    expect(plan.handOver, 'windows all the way to the pixels').toBe(-1);
    const { result, keys } = await counted(rt, 'walk', (rec) => {
      const sel = selectSeed(rec, fwd.activations[top]!, { channel: 2, position: 'at', at }, layer);
      rec.temp(sel.chosen);
      return runSparse(rec, fwd, plan, rec.temp(sel.seed), { chosen: sel.chosen, width: fwd.activations[top]!.shape[3]! }, mode);
    });
    const data = await result.read();
    result.release();
    return { data, keys };
  }

  const corners = [[{ y: 0, x: 0 }, { y: 3, x: 2 }], [{ y: 3, x: 0 }, { y: 1, x: 1 }]];
  for (const mode of MODES) {
    for (const at of corners) {
      it(`${mode} from c3 at ${JSON.stringify(at)}: same bits as the unfused walk, one pass fewer per pooling, equal to the float64 DeconvNet`, async () => {
        const fwd = await model.forward(input);
        try {
          const fused = await walk(fwd, 'c3', at, mode, true);
          const unfused = await walk(fwd, 'c3', at, mode, false);
          expectSameBits(fused.data, unfused.data, `${mode} fused vs unfused walk`);
          // crop, three filter steps (the two below a pooling unpool in their loads), place.
          expect(fused.keys.filter((k) => k.startsWith('window:'))).toEqual([
            kernelKey('window:crop', undefined),
            kernelKey('window:transpose', { rule: mode, unpool: false }),
            kernelKey('window:transpose', { rule: mode, unpool: 'general' }),
            kernelKey('window:transpose', { rule: mode, unpool: 'tiled' }),
            kernelKey('window:place', undefined),
          ]);
          expect(fused.keys.length, 'passes: two unpool passes fewer').toBe(unfused.keys.length - 2);
          expect(unfused.keys.filter((k) => k.startsWith('window:unpool'))).toHaveLength(2);

          // The public path (projectIn, sparse by default) against the float64 reference.
          const proj = await createDeconvNet(model).project(fwd, { layer: 'c3', channel: 2, position: at, mode });
          const got = (await proj.read()).data;
          proj.release();
          expectSameBits(got, fused.data, `${mode} project() is the fused walk`);
          const per = 3 * 23 * 21;
          const expected = new Float64Array(BATCH * per);
          at.forEach((pos, b) => expected.set(refProject(net.ref, saved, 4, 2, pos, mode).data.subarray(b * per, (b + 1) * per), b * per));
          expect(expected.some((v) => v !== 0), 'the reference reaches the pixels').toBe(true);
          expectClose(got, expected, `${mode} vs float64`);
        } finally {
          fwd.release();
        }
      });
    }
  }
});

describe('the default per adapter', () => {
  it("CPU adapters ('direct') unpool in a pass of their own, GPU adapters in the filter step's loads", async () => {
    for (const runtime of [rt, gpuStyle]) {
      const net = blockNet();
      const model = createModel(runtime, { inputShape: net.inputShape, layers: net.layers() });
      const fwd = await model.forward(makeRandom(96).array(BATCH * 3 * 23 * 21, 0, 1));
      try {
        const { result, keys } = await counted(runtime, 'default', (rec) => createDeconvNet(model).projectIn(rec, fwd, { layer: 'c3', channel: 2 }));
        result.release();
        const fusedLoads = keys.filter((k) => k.startsWith('window:transpose/') && !k.includes('unpool=false'));
        const unpoolPasses = keys.filter((k) => k.startsWith('window:unpool'));
        expect(fusedLoads).toHaveLength(runtime.kernelStyle === 'direct' ? 0 : 2);
        expect(unpoolPasses).toHaveLength(runtime.kernelStyle === 'direct' ? 2 : 0);
      } finally {
        fwd.release();
        model.destroy();
      }
    }
  });
});

describe('the dense walk unpools and applies the rule of the layer below in one pass', () => {

  it("CPU adapters ('direct') keep unpool2d and the rule pass", async () => {
    const net = blockNet();
    const model = createModel(rt, { inputShape: net.inputShape, layers: net.layers() });
    const fwd = await model.forward(makeRandom(95).array(BATCH * 3 * 23 * 21, 0, 1));
    try {
      const { result, keys } = await counted(rt, 'dense', (rec) => createDeconvNet(model).projectIn(rec, fwd, { layer: 'c3', channel: 2, position: 'all' }));
      result.release();
      expect(rt.kernelStyle).toBe('direct');
      expect(keys.filter((k) => k.startsWith('window:'))).toEqual([]);
      expect(keys.filter((k) => k.startsWith('unpool2d'))).toHaveLength(2);
    } finally {
      fwd.release();
      model.destroy();
    }
  });

  for (const mode of MODES) {
    it(`${mode}: conv(relu) <- pool blocks on whole maps, equal to the float64 DeconvNet, no separate rule pass below a pooling (GPU-style runtime)`, async () => {
      const net = blockNet();
      const model = createModel(gpuStyle, { inputShape: net.inputShape, layers: net.layers() });
      const input = makeRandom(95).array(BATCH * 3 * 23 * 21, 0, 1);
      const saved = refForward(net.ref, { data: Float64Array.from(input), shape: [BATCH, ...net.inputShape] });
      const fwd = await model.forward(input);
      try {
        for (const position of ['all', 'max'] as const) {
          const { result: proj, keys } = await counted(gpuStyle, 'dense', (rec) => createDeconvNet(model).projectIn(rec, fwd, { layer: 'c3', channel: 2, position, mode, sparse: false }));
          // c3's rule its own pass; c2's and c1's in the unpooling above them.
          expect(keys.filter((k) => k.startsWith('activation-backward')), 'rule passes').toHaveLength(1);
          expect(keys.filter((k) => k.startsWith('unpool2d')), 'plain unpool passes').toEqual([]);
          expect(keys.filter((k) => k === kernelKey('window:unpool', { rule: mode, walk: 'tiled' }) || k === kernelKey('window:unpool', { rule: mode, walk: 'general' })),
            'unpool + rule passes (the window kernel on whole maps)').toHaveLength(2);
          const got = (await proj.read()).data;
          proj.release();
          const expected = refProject(net.ref, saved, 4, 2, position, mode).data;
          expect(expected.some((v) => v !== 0), 'the reference reaches the pixels').toBe(true);
          expectClose(got, expected, `${mode} ${position} dense vs float64`);
        }
      } finally {
        fwd.release();
        model.destroy();
      }
    });
  }
});
