// Page side of bench/fusion-profile.ts.
import { createRuntime, loadModel, type ForwardResult, type Model, type ProfiledPass, type Runtime } from '../src/index.js';
import { planSparse, runSparse } from '../src/deconv/sparse.js';
import { selectSeed } from '../src/ops/select_seed.js';
import { vgg16, uniform } from './nets.js';
import * as ours from './ours.js';
import { summarize } from './stats.js';

const TINY_VGG_URL = '/demo/public/models/tiny-vgg/model.json';

export interface FusionProfileArgs { size: number; rounds: number; layer: string; channel: number }

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

async function forwardFusion(a: FusionProfileArgs): Promise<void> {
  const rt = await createRuntime({ pinnedKernels: { conv2d: 'gemm128-conv' } });
  const net = vgg16(a.size, 1);
  const x = uniform(3 * a.size * a.size, 0, 1, 6);
  console.log(`VGG16 ${a.size}x${a.size} forward, conv2d pinned 'gemm128-conv':`);
  const results: Record<string, { ms: number; passes: number }> = {};
  for (const fusion of [false, true]) {
    const model = ours.vggModel(rt, net, { fusion });
    const run = ours.vggForwardRun(model, x);
    const r = await profiled(rt, a.rounds, async () => { await run.run(); });
    results[String(fusion)] = r;
    console.log(line(fusion ? 'conv + pool fused' : 'apart (fusion: false)', r));
    if (fusion) console.log(`    fused passes: ${r.labels.filter((p) => p.label.includes('max pool') || p.label.startsWith('conv2d gemm')).map((p) => `${p.label} ${p.ms.toFixed(2)}`).join(', ')}`);
    run.dispose(); model.destroy();
  }
  console.log(`  fused / apart GPU time: ${(results.true!.ms / results.false!.ms).toFixed(3)}`);
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
