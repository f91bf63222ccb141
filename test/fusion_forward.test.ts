// A Conv2D and the 2x2 / stride 2 MaxPool2D reading it, recorded as one pass
// (src/model/fusion.ts, src/ops/conv2d_pool.ts) where the conv runs on the GEMM
// core ('gemm128-conv', pinned here: CPU adapters default to 'direct'). The same
// model with `fusion: false` records every node apart with the same kernels, so
// outputs, switches and projections must be the same bits; the float64
// reference checks both. Pairs the epilogue cannot take (odd conv outputs,
// a GEMM that splits K, padded pooling) stay apart.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import {
  Add, Conv2D, MaxPool2D, createDeconvNet, createModel, type GraphNode, type Layer, type Model, type Runtime,
} from '../src/index.js';
import { counted, expectClose, getRuntime } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { expectSameBits } from './helpers/same_bits.js';
import { twinChain, twinConv, twinPool, type TwinNet } from './helpers/ref_layers.js';
import { refForward, refProject, type Mode, type T } from './ref/net.js';

const MODES: Mode[] = ['deconvnet', 'guided', 'gradient'];
const BATCH = 2;

/** conv(relu) 12x10 -> 2x2 pool (fused) -> conv(relu) 6x5 -> 2x2 pool (odd: apart) -> 1x1 conv. */
function chainNet(): TwinNet {
  const rnd = makeRandom(71);
  return twinChain('conv-pool chain', [3, 12, 10], [
    twinConv(rnd, 'c1', { inC: 3, outC: 8, k: 3, pad: [1, 1, 1, 1], relu: true }),  // 12x10, even: fused with p1
    twinPool('p1', 2, 2),                                                            // 6x5
    twinConv(rnd, 'c2', { inC: 8, outC: 6, k: 3, pad: [1, 1, 1, 1], relu: true }),  // 6x5, odd: apart
    twinPool('p2', 2, 2),                                                            // 3x2
    twinConv(rnd, 'c3', { inC: 6, outC: 5, k: 1, relu: false }),                    // 3x2
  ]);
}

let rt: Runtime;
beforeAll(async () => {
  rt = await getRuntime();
  rt.pinKernel('conv2d', 'gemm128-conv');
});
afterAll(() => rt.unpinKernel('conv2d'));

/** Every node's output and switches after one forward, and the kernel keys it ran. */
async function forwardAll(model: Model, input: Float32Array) {
  const { result: fwd, keys, variants } = await counted(rt, 'forward', (rec) => model.forwardIn(rec, input));
  const outputs = await Promise.all(fwd.activations.map((t) => t.read()));
  const switches = await Promise.all(fwd.switches.map((t) => (t ? rt.readU32(t) : Promise.resolve(null))));
  return { fwd, keys, variants, outputs, switches };
}

describe('forward: conv + 2x2 max pooling in one pass', () => {
  const net = chainNet();
  let fused: Model, apart: Model;
  let input: Float32Array;
  let saved: ReturnType<typeof refForward>;
  beforeAll(() => {
    fused = createModel(rt, { inputShape: net.inputShape, layers: net.layers() });
    apart = createModel(rt, { inputShape: net.inputShape, layers: net.layers(), fusion: false });
    input = makeRandom(72).array(BATCH * 3 * 12 * 10, -1, 1);
    const t: T = { data: Float64Array.from(input), shape: [BATCH, ...net.inputShape] };
    saved = refForward(net.ref, t);
  });
  afterAll(() => { fused.destroy(); apart.destroy(); });

  it('same outputs and switches as the unfused model, one pass fewer; the odd pair stays apart', async () => {
    const a = await forwardAll(fused, input);
    const b = await forwardAll(apart, input);
    try {
      expect(a.variants.every((v) => v === 'gemm128-conv') && a.variants.length > 0, `variants ${a.variants}`).toBe(true);
      const pooledGemm = a.keys.filter((k) => k.includes('pool=true'));
      expect(pooledGemm, 'c1 and p1 ran as one GEMM pass with the pool in its epilogue').toHaveLength(1);
      expect(a.keys.filter((k) => k.startsWith('maxpool2d')), 'p2 (6x5 input) ran its own pass').toHaveLength(1);
      expect(b.keys.filter((k) => k.startsWith('maxpool2d'))).toHaveLength(2);
      expect(a.keys.length, 'passes').toBe(b.keys.length - 1);
      a.outputs.forEach((o, i) => {
        expectSameBits(o, b.outputs[i]!, `${fused.layers[i]!.name} output`);
        expectClose(o, saved[i]!.output.data, `${fused.layers[i]!.name} vs float64`);
      });
      for (const i of [1, 3]) {
        expect(a.switches[i], `${fused.layers[i]!.name} switches`).toEqual(b.switches[i]);
        expect(Array.from(a.switches[i]!)).toEqual(Array.from(saved[i]!.switches!));
      }
    } finally {
      a.fwd.release(); b.fwd.release();
    }
  });

  for (const mode of MODES) {
    it(`${mode}: projections from c2 and p1 equal the unfused model's and the float64 DeconvNet`, async () => {
      const fa = await fused.forward(input), fb = await apart.forward(input);
      try {
        for (const [layer, top, position] of [['c2', 2, 'max'], ['p1', 1, 'max']] as const) {
          for (const sparse of [true, false]) {
            const pa = await createDeconvNet(fused).project(fa, { layer, channel: 1, position, mode, sparse });
            const pb = await createDeconvNet(apart).project(fb, { layer, channel: 1, position, mode, sparse });
            const got = (await pa.read()).data;
            expectSameBits(got, (await pb.read()).data, `${mode} ${layer} sparse ${sparse}: fused vs apart`);
            pa.release(); pb.release();
            const expected = refProject(net.ref, saved, top, 1, position, mode).data;
            expect(expected.some((v) => v !== 0), 'the reference reaches the pixels').toBe(true);
            expectClose(got, expected, `${mode} ${layer} vs float64`);
          }
        }
      } finally {
        fa.release(); fb.release();
      }
    });
  }

  it('predict up to the conv does not record the pool', async () => {
    const { result, keys } = await counted(rt, 'predict', () => fused.predict(input, { output: 'c1' }));
    expect(keys.some((k) => k.includes('pool=true'))).toBe(false);
    const expected = saved[0]!.output.data;
    expectClose(await result, expected, 'c1 by predict');
  });
});

describe('where the pair stays apart', () => {
  const rnd = makeRandom(73);
  const w = (n: number) => rnd.array(n, -0.3, 0.3);

  async function passes(inputShape: number[], layers: () => Layer[], input: Float32Array) {
    const a = createModel(rt, { inputShape, layers: layers() }), b = createModel(rt, { inputShape, layers: layers(), fusion: false });
    try {
      const fa = await forwardAll(a, input), fb = await forwardAll(b, input);
      fa.outputs.forEach((o, i) => expectSameBits(o, fb.outputs[i]!, `node ${i}`));
      fa.fwd.release(); fb.fwd.release();
      return { fused: fa.keys, apart: fb.keys };
    } finally {
      a.destroy(); b.destroy();
    }
  }

  it('a GEMM that splits K keeps its slices (the fused epilogue cannot split): conv 64 -> 16 on 4x4', async () => {
    const kernel = w(16 * 64 * 9);
    const { fused, apart } = await passes([64, 4, 4],
      () => [new Conv2D({ name: 'deep', filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', kernel }), new MaxPool2D({ kernel: 2 })],
      makeRandom(74).array(BATCH * 64 * 16));
    expect(fused.some((k) => k.includes('split') || k.includes('reduce'))).toBe(true);
    expect(fused).toEqual(apart);
  });

  it('padded or 3x3 pooling stays apart', async () => {
    const kernel = w(4 * 27);
    for (const pool of [{ kernel: 2, padding: [1, 1, 1, 1] as [number, number, number, number] }, { kernel: 3, stride: 2 }]) {
      const { fused, apart } = await passes([3, 8, 8],
        () => [new Conv2D({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', kernel }), new MaxPool2D(pool)],
        makeRandom(75).array(BATCH * 3 * 64));
      expect(fused).toEqual(apart);
    }
  });
});

describe('graph models', () => {
  it('a conv read only by its pool, the pool read by two branches joined by Add: fused, same values', async () => {
    const rnd = makeRandom(76);
    const [stem, bias, wa, wb] = [6 * 27, 6, 4 * 54, 4 * 6].map((n) => rnd.array(n, -0.4, 0.4));
    const nodes = (): GraphNode[] => [
      { layer: new Conv2D({ name: 'stem', filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', kernel: stem, bias }), inputs: ['input'] },
      { layer: new MaxPool2D({ name: 'pool', kernel: 2 }), inputs: ['stem'] },
      { layer: new Conv2D({ name: 'a', filters: 4, kernelSize: 3, padding: 'same', kernel: wa }), inputs: ['pool'] },
      { layer: new Conv2D({ name: 'b', filters: 4, kernelSize: 1, kernel: wb }), inputs: ['pool'] },
      { layer: new Add({ name: 'add' }), inputs: ['a', 'b'] },
    ];
    const spec = { inputShape: [3, 10, 14], nodes: nodes() };
    const a = createModel(rt, spec), b = createModel(rt, { inputShape: [3, 10, 14], nodes: nodes(), fusion: false });
    const input = makeRandom(77).array(BATCH * 3 * 140, -1, 1);
    try {
      const fa = await forwardAll(a, input), fb = await forwardAll(b, input);
      expect(fa.keys.filter((k) => k.includes('pool=true'))).toHaveLength(1);
      expect(fa.keys.length).toBe(fb.keys.length - 1);
      fa.outputs.forEach((o, i) => expectSameBits(o, fb.outputs[i]!, `${a.layers[i]!.name}`));
      expect(fa.switches[1]).toEqual(fb.switches[1]);
      for (const mode of MODES) {
        const pa = await createDeconvNet(a).project(fa.fwd, { layer: 'add', channel: 2, mode });
        const pb = await createDeconvNet(b).project(fb.fwd, { layer: 'add', channel: 2, mode });
        expectSameBits((await pa.read()).data, (await pb.read()).data, `graph ${mode} projection`);
        pa.release(); pb.release();
      }
      fa.fwd.release(); fb.fwd.release();
    } finally {
      a.destroy(); b.destroy();
    }
  });
});
