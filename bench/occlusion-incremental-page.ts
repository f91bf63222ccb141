// Page side of bench/occlusion-incremental.ts.
import { createRuntime, loadModel, occlusionSensitivity, Conv2D, type Model, type OcclusionOptions, type OcclusionResult } from '../src/index.js';
import { planIncrementalOcclusion } from '../src/analysis/incremental_plan.js';
import { occlusionGrid, uniform, vgg16 } from './nets.js';
import { vggModel } from './ours.js';

interface Workload { name: string; model: Model; image: Float32Array; options: OcclusionOptions }

/** Largest element difference of the three maps, and whether the labels agree. */
function mapsDiffer(a: OcclusionResult, b: OcclusionResult): { maxDiff: number; labelsEqual: boolean } {
  let maxDiff = 0;
  for (const key of ['featureActivation', 'classProbability', 'topProbability'] as const) {
    a[key].forEach((v, i) => { maxDiff = Math.max(maxDiff, Math.abs(v - b[key][i]!)); });
  }
  return { maxDiff, labelsEqual: a.topLabel.every((v, i) => v === b.topLabel[i]) };
}

/**
 * Convolution multiply-adds per occluded copy: in the incremental plan's
 * windows and in full maps (a static figure: what the incremental path can
 * save at most).
 */
function convWork(model: Model, size: number, stride: number): { incremental: number; full: number } | string {
  const [, H, W] = model.inputShape as [number, number, number];
  const rows = Math.floor((H - size) / stride) + 1, cols = Math.floor((W - size) / stride) + 1;
  const plan = planIncrementalOcclusion(model, { size, stride, rows, cols });
  if ('fallback' in plan) return plan.fallback;
  let incremental = 0, full = 0;
  model.layers.forEach((layer, i) => {
    if (!(layer instanceof Conv2D)) return;
    const [M, Cg, kH, kW] = layer.kernelShape as [number, number, number, number];
    const [, OH, OW] = model.info[i]!.outputShape as [number, number, number];
    const step = plan.steps[i]!;
    const perOutput = M * Cg * kH * kW;
    full += perOutput * OH * OW;
    incremental += perOutput * (step.kind === 'full' ? OH * OW : step.window.height * step.window.width);
  });
  return { incremental, full };
}

function showWork(name: string, model: Model, size: number, stride: number): void {
  const work = convWork(model, size, stride);
  if (typeof work === 'string') { console.log(`  ${name}: no incremental plan (${work})`); return; }
  console.log(`  ${name}: conv multiply-adds per copy ${(work.incremental / 1e6).toFixed(1)} M incremental, ${(work.full / 1e6).toFixed(1)} M full: at most ${(work.full / work.incremental).toFixed(2)}x`);
}

const median = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)]!;

async function timed(w: Workload, incremental: boolean): Promise<{ ms: number; result: OcclusionResult }> {
  const t0 = performance.now();
  const result = await occlusionSensitivity(w.model, w.image, { ...w.options, incremental });
  return { ms: performance.now() - t0, result };
}

export async function main(a: { rounds: number; vggSize: number; vggGrid: number; bigSize: number; bigGrid: number }) {
  const rt = await createRuntime();
  const info = rt.device.adapterInfo as GPUAdapterInfo | undefined;
  console.log(`adapter: ${info?.vendor ?? "?"} / ${info?.architecture ?? "?"}`);
  const workloads: Workload[] = [];

  const { model: tiny } = await loadModel(rt, '/demo/public/models/tiny-vgg/model.json');
  const maps = tiny.info.filter((n) => n.outputShape.length === 3).map((n) => n.name);
  const [, h, w] = tiny.inputShape as [number, number, number];
  const side = Math.max(1, Math.round(Math.min(h, w) / 4));
  workloads.push({
    name: `Tiny VGG ${h}x${w}, demo default occluder`, model: tiny, image: uniform(3 * h * w, 0, 1, 3),
    options: { layer: maps[Math.floor(maps.length / 2)]!, size: side, stride: Math.max(1, Math.round(side / 2)), fill: 0.5 },
  });
  for (const [size, rows] of [[a.vggSize, a.vggGrid], [a.bigSize, a.bigGrid]] as const) {
    if (!size) continue;
    const net = vgg16(size, 1, 10);
    const grid = occlusionGrid(net.size, rows);
    workloads.push({
      name: `VGG16 ${size}x${size}, ${grid.rows}x${grid.rows} positions (square ${grid.square}, stride ${grid.stride}), bench workload`,
      model: vggModel(rt, net), image: uniform(3 * size * size, 0, 1, 6),
      options: { layer: 'conv5_3', size: grid.square, stride: grid.stride, batchSize: grid.rows * grid.rows, fill: 0.5 },
    });
  }

  for (const w of workloads) {
    // Warm: pipelines compiled and the pool filled for both paths.
    const warmFull = await timed(w, false), warmInc = await timed(w, true);
    const check = mapsDiffer(warmInc.result, warmFull.result);
    const full: number[] = [], inc: number[] = [];
    for (let r = 0; r < a.rounds; r++) {
      full.push((await timed(w, false)).ms);
      inc.push((await timed(w, true)).ms);
    }
    const f = median(full), i = median(inc);
    console.log(`${w.name}: layer ${w.options.layer}, ${warmInc.result.rows * warmInc.result.cols} positions, batch ${w.options.batchSize ?? 32}`);
    console.log(`  full (before) ${f.toFixed(0)} ms [${full.map((x) => x.toFixed(0)).join(', ')}], incremental ${i.toFixed(0)} ms [${inc.map((x) => x.toFixed(0)).join(', ')}]: ${(f / i).toFixed(2)}x`);
    console.log(`  first runs (compiling): full ${warmFull.ms.toFixed(0)} ms, incremental ${warmInc.ms.toFixed(0)} ms; path ${warmInc.result.path}`);
    console.log(`  same maps: max |difference| ${check.maxDiff}, labels ${check.labelsEqual ? 'identical' : 'DIFFER'}`);
    showWork('static bound', w.model, w.options.size, w.options.stride!);
  }
  for (const w of workloads) w.model.destroy();
  // The sizes, planned only (too slow to run here): VGG16 at 112 and 224 with 7x7 positions.
  console.log('planned only:');
  for (const size of [112, 224]) {
    const model = vggModel(rt, vgg16(size, 1, 10));
    const grid = occlusionGrid(size, 7);
    showWork(`VGG16 ${size}x${size}, 7x7 positions (square ${grid.square}, stride ${grid.stride})`, model, grid.square, grid.stride);
    model.destroy();
  }
  rt.destroy();
}
