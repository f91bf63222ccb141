// Page side of bench/fusion-profile.ts.
import { Conv2D, MaxPool2D, createModel, createRuntime, loadModel, type ForwardResult, type Model, type ProfiledPass, type Runtime } from '../src/index.js';
import { planSparse, runSparse } from '../src/deconv/sparse.js';
import { selectSeed } from '../src/ops/select_seed.js';
import { vgg16, uniform } from './nets.js';
import * as ours from './ours.js';
import { summarize } from './stats.js';

const TINY_VGG_URL = '/demo/public/models/tiny-vgg/model.json';

export interface FusionProfileArgs { size: number; rounds: number; layer: string; channel: number; vgg16: boolean }

/** Median GPU time and pass count of `work` over `rounds` profiled runs (after one warm-up run). */
async function profiled(rt: Runtime, rounds: number, work: () => Promise<void>): Promise<{ ms: number; passes: number; labels: ProfiledPass[] }> {
  await work();
  const totals: number[] = [];
  let last: ProfiledPass[] = [];
  for (let i = 0; i < rounds; i++) {
    const passes = await rt.profile(work);
    if (!passes) throw new Error('the device has no timestamp-query');
    totals.push(passes.reduce((s, p) => s + p.ms, 0));
    last = passes;
  }
  return { ms: summarize(totals).median, passes: last.length, labels: last };
}

function line(title: string, r: { ms: number; passes: number }): string {
  return `  ${title.padEnd(44)} ${r.ms.toFixed(2).padStart(9)} ms GPU time (median), ${r.passes} passes`;
}

/** Forward GPU time of `fused` and `apart` (the same net with fusion: false) on one input, conv2d pinned to the GEMM core. */
async function compareForward(rt: Runtime, title: string, fused: Model, apart: Model, x: Float32Array, rounds: number): Promise<void> {
  console.log(`${title} forward, conv2d pinned 'gemm128-conv':`);
  const results: Array<{ ms: number; passes: number }> = [];
  for (const model of [apart, fused]) {
    const run = ours.vggForwardRun(model, x);
    const r = await profiled(rt, rounds, async () => { await run.run(); });
    results.push(r);
    console.log(line(model === fused ? 'conv + pool fused (default)' : 'apart (fusion: false)', r));
    if (model === fused) console.log(`    ${r.labels.map((p) => `${p.label} ${p.ms.toFixed(2)}`).join(', ')}`);
    run.dispose();
  }
  console.log(`  fused / apart GPU time: ${(results[1]!.ms / results[0]!.ms).toFixed(3)}`);
}

/** Two conv(relu) + 2x2 pool blocks at 128x128 (3 -> 8 -> 16 channels): few slabs of K, so both GEMMs run unsplit and fuse. */
function blocks(rt: Runtime, fusion: boolean): Model {
  const conv = (name: string, inC: number, outC: number) => new Conv2D({
    name, filters: outC, kernelSize: 3, padding: 'same', activation: 'relu', kernel: uniform(outC * inC * 9, -0.3, 0.3, outC), bias: uniform(outC, -0.05, 0.05, 7),
  });
  return createModel(rt, {
    inputShape: [3, 128, 128], fusion,
    layers: [conv('c1', 3, 8), new MaxPool2D({ name: 'p1', kernel: 2 }), conv('c2', 8, 16), new MaxPool2D({ name: 'p2', kernel: 2 })],
  });
}

async function forwardFusion(a: FusionProfileArgs): Promise<void> {
  const rt = await createRuntime({ pinnedKernels: { conv2d: 'gemm128-conv' } });
  const [fused, apart] = [blocks(rt, true), blocks(rt, false)];
  await compareForward(rt, 'conv(relu) + 2x2 pool blocks, 3x128x128', fused, apart, uniform(3 * 128 * 128, 0, 1, 6), a.rounds);
  fused.destroy(); apart.destroy();
  // VGG16 (--vgg16) at --size: at batch 1 its convs before a pooling split K below 224 (few tiles), so nothing fuses there.
  if (a.vgg16) {
    const net = vgg16(a.size, 1);
    const [vf, va] = [ours.vggModel(rt, net), ours.vggModel(rt, net, { fusion: false })];
    await compareForward(rt, `VGG16 ${a.size}x${a.size}`, vf, va, uniform(3 * a.size * a.size, 0, 1, 6), a.rounds);
    vf.destroy(); va.destroy();
  }
  rt.destroy();
}

/** Select seed + the window walk of the sparse projection, placed into the hand-over level. */
function windowWalk(model: Model, fwd: ForwardResult, layer: string, channel: number, fuseUnpool: boolean): () => Promise<void> {
  const top = model.layerIndex(layer);
  const plan = planSparse(fwd, top, { fuseUnpool });
  if (!plan) throw new Error(`no sparse plan from ${layer}`);
  return async () => {
    const placed = await model.runtime.run('window walk', (rec) => {
      const sel = selectSeed(rec, fwd.activations[top]!, { channel, position: 'max' }, layer);
      rec.temp(sel.chosen);
      return runSparse(rec, fwd, plan, rec.temp(sel.seed), { chosen: sel.chosen, width: fwd.activations[top]!.shape[3]! }, 'deconvnet');
    });
    placed.release();
  };
}

async function projectionFusion(a: FusionProfileArgs): Promise<void> {
  const rt = await createRuntime();
  const { model } = await loadModel(rt, TINY_VGG_URL);
  const x = rt.createTensor([1, ...model.inputShape], uniform(model.inputShape.reduce((p, d) => p * d, 1), 0, 1, 6));
  const fwd = await model.forward(x);
  console.log(`Tiny VGG 64x64, sparse projection of ${a.layer}#${a.channel} at its maximum (select seed + window walk):`);
  const results: Record<string, { ms: number; passes: number }> = {};
  // Both ways on this adapter, whatever its default (CPU adapters: apart).
  for (const fuseUnpool of [false, true]) {
    const r = await profiled(rt, a.rounds, windowWalk(model, fwd, a.layer, a.channel, fuseUnpool));
    results[String(fuseUnpool)] = r;
    console.log(line(fuseUnpool ? 'unpool in the next filter step\'s loads' : 'unpool its own pass', r));
    console.log(`    ${r.labels.map((p) => `${p.label} ${p.ms.toFixed(2)}`).join(', ')}`);
  }
  console.log(`  fused / apart GPU time: ${(results.true!.ms / results.false!.ms).toFixed(3)}`);
  fwd.release(); x.release(); model.destroy(); rt.destroy();
}

export async function main(a: FusionProfileArgs) {
  await projectionFusion(a);
  await forwardFusion(a);
}
