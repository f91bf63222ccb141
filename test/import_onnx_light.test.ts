// Whole ImageNet-sized ONNX graphs whose weights are made inside the graph
// (the model zoo's "light" files; see test/onnx/light.ts): they import, run
// forward and project on SwiftShader, every weight written on the GPU by the
// fill kernel, and give every buffer back. Outputs are compared with the
// float64 evaluation of test/onnx/light.ts under ONNX's rule
// |a - e| <= 1e-5 + 1e-3 |e|; that evaluation's box-filter convolution is
// itself checked against a direct one here; the gradient projection is checked
// against central differences of the float64 network along it.
//
// AlexNet runs always (about a minute). VGG-19 (fc6 alone is 411 MB) and
// ZFNet-512 take several minutes each on SwiftShader with two cores, so they
// run with LIGHT_MODELS=1; `npm run conformance` over the folders of
// scripts/make-light-cases.ts runs them too.
import { describe, expect, it } from 'vitest';
import { commands } from 'vitest/browser';
import { importOnnx, createDeconvNet, type Runtime } from '../src/index.js';
import { getRuntime } from './helpers/gpu.js';
import { makeRandom } from './helpers/random.js';
import { compareOutput } from './onnx/case.js';
import {
  ARCHITECTURES, lightConv, lightFc, lightInput, lightModel, lightReference, planLayers, weightValue,
  type Architecture, type LightLayer, type Planned, type WeightStyle,
} from './onnx/light.js';

const INPUT = [3, 224, 224];
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const wanted = await commands.lightModelsWanted();

/** Direct convolution with the materialised weights, float64. */
function directConv(x: Float64Array, p: Planned): Float64Array {
  const l = p.layer as Extract<LightLayer, { kind: 'conv' }>;
  const [c, h, w] = p.inShape as [number, number, number];
  const [f, oh, ow] = p.outShape as [number, number, number];
  const cg = c / l.group, fg = f / l.group;
  const out = new Float64Array(f * oh * ow);
  for (let o = 0; o < f; o++) for (let y = 0; y < oh; y++) for (let xx = 0; xx < ow; xx++) {
    let s = weightValue(p.bias!, o);
    const gi = Math.floor(o / fg);
    for (let cl = 0; cl < cg; cl++) for (let i = 0; i < l.k; i++) for (let j = 0; j < l.k; j++) {
      const yy = y * l.stride + i - l.pad, xi = xx * l.stride + j - l.pad;
      if (yy < 0 || yy >= h || xi < 0 || xi >= w) continue;
      s += weightValue(p.weight!, ((o * cg + cl) * l.k + i) * l.k + j) * x[((gi * cg + cl) * h + yy) * w + xi]!;
    }
    out[(o * oh + y) * ow + xx] = s;
  }
  return out;
}

function maxRelative(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(Math.abs(b[i]!), 1e-12));
  return worst;
}

describe('the float64 reference of the light graphs', () => {
  for (const style of ['constant', 'range'] as const) {
    it(`box-filter convolution and dense (${style}) equal direct ones (grouped, strided, padded)`, () => {
      const layers: LightLayer[] = [
        { kind: 'conv', filters: 6, k: 3, stride: 2, pad: 1, group: 2 }, { kind: 'conv', filters: 5, k: 4, stride: 1, pad: 0, group: 1 },
        { kind: 'flatten' }, { kind: 'fc', units: 7 },
      ];
      const [p0, p1, , p3] = planLayers(layers, style, [4, 11, 9]);
      const x = Float64Array.from(makeRandom(3).array(4 * 11 * 9, -1, 1));
      const y0 = lightConv(x, p0!);
      expect(maxRelative(y0, directConv(x, p0!))).toBeLessThan(1e-12);
      const y1 = lightConv(y0, p1!);
      expect(maxRelative(y1, directConv(y0, p1!))).toBeLessThan(1e-12);
      const units = p3!.outShape[0]!, K = p3!.inShape[0]!;
      const direct = Float64Array.from({ length: units }, (_, u) => {
        let s = weightValue(p3!.bias!, u);
        for (let k = 0; k < K; k++) s += weightValue(p3!.weight!, u * K + k) * y1[k]!;
        return s;
      });
      expect(maxRelative(lightFc(y1, p3!), direct)).toBeLessThan(1e-12);
    });
  }
});

/** Imports, runs, compares, projects; every buffer back afterwards. */
async function runWhole(rt: Runtime, arch: Architecture, style: WeightStyle, checkGradient: boolean): Promise<void> {
  const layers = ARCHITECTURES[arch];
  const { bytes } = lightModel(layers, style, INPUT);
  const x = lightInput(size(INPUT), 1);
  const expected = lightReference(layers, style, x, INPUT);
  const before = rt.bytesInUse;
  const { model, outputNames } = await importOnnx(rt, bytes, { fileName: `${arch}_${style}.onnx` });
  expect(outputNames).toEqual(['logits', 'prob']);
  const fwd = await model.forward(x);
  try {
    for (const [i, t] of fwd.outputs.entries()) {
      const r = compareOutput({ name: outputNames[i]!, dims: [...t.shape], data: await t.read() }, { dtype: 'float32', dims: [1, 1000], data: Float32Array.from(i === 0 ? expected.logits : expected.prob) }, `${arch} ${outputNames[i]}`);
      expect(r.pass, r.message).toBe(true);
    }
    const fcs = layers.flatMap((l, i) => (l.kind === 'fc' ? [`fc${i}`] : []));
    const lastConv = layers.flatMap((l, i) => (l.kind === 'conv' ? [`relu${i + 1}`] : [])).at(-1)!;
    const deconv = createDeconvNet(model);
    const proj = await deconv.project(fwd, { layer: lastConv, channel: 3, mode: 'deconvnet' });
    const image = (await proj.read()).data;
    proj.release();
    expect(image.length).toBe(size(INPUT));
    expect(image.every(Number.isFinite), 'projection finite').toBe(true);
    expect(image.some((v) => v !== 0), 'projection not all zero').toBe(true);
    if (checkGradient) {
      // d(logit 999)/d(input) along the projection itself, g / |g|: the float64 network's central
      // difference must give |g| (a wrong g gives <true gradient, g> / |g| < |g| instead).
      const unit = 999;
      const grad = await deconv.project(fwd, { layer: fcs.at(-1)!, channel: unit, position: 'all', seed: 'one', mode: 'gradient' });
      const g = (await grad.read()).data;
      grad.release();
      const norm = Math.sqrt(g.reduce((s, v) => s + v * v, 0));
      const eps = 1e-2;
      const shifted = (sign: number) => lightReference(layers, style, Float64Array.from(x, (v, i) => v + (sign * eps * g[i]!) / norm), INPUT).logits[unit]!;
      const numeric = (shifted(1) - shifted(-1)) / (2 * eps);
      console.log(`${arch} ${style}: |projection| ${norm} (float32), derivative along it ${numeric} (float64 central differences)`);
      expect(Math.abs(norm - numeric), `|g| ${norm} vs ${numeric}`).toBeLessThan(1e-3 * norm);
    }
  } finally {
    fwd.release();
    model.destroy();
  }
  expect(rt.bytesInUse, 'every buffer back after release and destroy').toBe(before);
}

describe('whole light graphs (weights made in the graph)', () => {
  it('AlexNet (LRN, grouped convs, fc6 [4096, 9216] from the use_range chain): forward, projection, gradient, memory', async () => {
    await runWhole(await getRuntime(), 'alexnet', 'range', true);
  }, 600_000);

  it.skipIf(!wanted)('VGG-19 (fc6 [4096, 25088], 411 MB from ConstantOfShape): forward, projection, memory (LIGHT_MODELS=1)', async () => {
    await runWhole(await getRuntime(), 'vgg19', 'constant', false);
  }, 1_800_000);

  it.skipIf(!wanted)('VGG-19 with use_range weights (LIGHT_MODELS=1)', async () => {
    await runWhole(await getRuntime(), 'vgg19', 'range', false);
  }, 1_800_000);

  it.skipIf(!wanted)('ZFNet-512 with ConstantOfShape weights (LIGHT_MODELS=1)', async () => {
    await runWhole(await getRuntime(), 'zfnet512', 'constant', false);
  }, 1_800_000);
});
