// Page side of bench/project-profile.ts.
import { createRuntime, loadModel, type Model, type ProfiledPass, type Runtime } from '../src/index.js';
import { vgg16, uniform } from './nets.js';
import * as ours from './ours.js';
import { summarize } from './stats.js';

const TINY_VGG_URL = '/demo/public/models/tiny-vgg/model.json';

export interface ProjectProfileArgs { net: 'vgg16' | 'tiny-vgg'; size: number; layer: string; channel: number; pin: string; dense: boolean; rounds: number }

/** The benchmark's VGG16 at `size`, or the demo's Tiny VGG (64x64). */
async function profiledModel(rt: Runtime, a: ProjectProfileArgs): Promise<{ model: Model; layer: string }> {
  if (a.net === 'tiny-vgg') return { model: (await loadModel(rt, TINY_VGG_URL)).model, layer: a.layer || 'conv_2_2' };
  return { model: ours.vggModel(rt, vgg16(a.size, 1)), layer: a.layer || 'conv5_3' };
}

export async function main(a: ProjectProfileArgs) {
  // --pin VARIANT: every conv and transposed conv on that variant, no tuning.
  const rt = await createRuntime(a.pin ? { pinnedKernels: { conv2d: a.pin, conv2dTranspose: a.pin } } : {});
  const { model, layer } = await profiledModel(rt, a);
  const x = uniform(model.inputShape.reduce((p, d) => p * d, 1), 0, 1, 6);
  const forward = ours.vggForwardRun(model, x);
  const project = ours.projectRun(model, x, layer, a.channel, !a.dense);
  console.log(`${a.net} ${model.inputShape.join('x')}: forward, and forward + ${a.dense ? 'dense' : 'sparse'} projection of ${layer}#${a.channel}`);
  if (!a.pin) await rt.tune(async () => { await project.run(); });
  await forward.run();
  await project.run();
  const show = (title: string, passes: ProfiledPass[] | null, wallMs: number) => {
    if (!passes) { console.log(`${title}: the device has no timestamp-query`); return; }
    const total = passes.reduce((s, p) => s + p.ms, 0);
    console.log(`${title}: ${passes.length} passes, ${total.toFixed(1)} ms GPU time, ${wallMs.toFixed(1)} ms wall clock`);
    const byLabel = new Map<string, { ms: number; n: number }>();
    for (const p of passes) {
      const e = byLabel.get(p.label) ?? { ms: 0, n: 0 };
      e.ms += p.ms; e.n++;
      byLabel.set(p.label, e);
    }
    for (const [label, e] of [...byLabel].sort((p, q) => q[1].ms - p[1].ms)) {
      console.log(`  ${label.padEnd(40)} ${e.ms.toFixed(1).padStart(8)} ms in ${e.n} passes`);
    }
    const seed = passes.findIndex((p) => p.label.startsWith('select seed'));
    if (seed >= 0) {
      const sum = (ps: ProfiledPass[]) => ps.reduce((s, p) => s + p.ms, 0).toFixed(1);
      console.log(`  forward part ${sum(passes.slice(0, seed))} ms, projection part ${sum(passes.slice(seed))} ms`);
    }
    console.log(`  in order: ${passes.map((p) => `${p.label} ${p.ms.toFixed(1)}`).join(', ')}`);
  };
  for (const [title, run] of [['forward', forward.run], ['forward + projection', project.run]] as const) {
    const start = performance.now();
    const passes = await rt.profile(async () => { await run(); });
    show(title, passes, performance.now() - start);
  }
  // Wall clock, alternating, as the benchmark's rounds do (without the peers in between); medians of `rounds`.
  const [ps, fs]: [number[], number[]] = [[], []];
  for (let i = 0; i < a.rounds; i++) {
    let t0 = performance.now();
    await project.run();
    ps.push(performance.now() - t0);
    t0 = performance.now();
    await forward.run();
    fs.push(performance.now() - t0);
  }
  const [p, f] = [summarize(ps).median, summarize(fs).median];
  console.log(`${a.rounds} rounds, medians: forward + projection ${p.toFixed(1)} ms, forward ${f.toFixed(1)} ms, ratio ${(p / f).toFixed(2)}`);
  forward.dispose(); project.dispose(); model.destroy(); rt.destroy();
}
