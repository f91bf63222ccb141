// Shared by `npm run bench` (bench/run.ts, headless Chromium) and its Node/Dawn
// path (bench/node.ts): the command-line profiles and arguments, the JSON
// written to bench/results/ and the table printed on stdout.
import { cpus, loadavg, totalmem, release, platform } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BenchArgs, BenchResult, WorkloadResult } from './page.js';

export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const flag = (name: string) => process.argv.includes(`--${name}`);
const num = (name: string, fallback: number) => {
  const v = Number(arg(name, String(fallback)));
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number, got ${arg(name, '')}`);
  return v;
};

// Profiles. 'full': the sizes of the issue (VGG16 workloads at 112, occlusion
// 7x7 positions at 112, matmul 1024^3), the default on a real GPU
// (WEBGPU_ADAPTER=gpu) or with --full. 'cpu': the default on SwiftShader, sized
// to finish in about ten minutes on two cores, where TF.js and ORT run a VGG16
// at about 0.2 GFLOP/s (a VGG16 forward at 112: ~45 s each; one 7x7
// occlusion map at 32x32: ~6 minutes for TF.js): one timed round of the heavy
// workloads vgg16-forward and occlusion (three of project: its ratio to our own
// forward, timed in the same rounds, is one of the targets, and one round on
// two shared cores can be 1.5x off), project and occlusion at 32x32 (the
// smallest input VGG16's five poolings take), occlusion 3x3 positions.
// 'quick' (--quick): a smoke run of every workload at small sizes.
export const profile = flag('quick') ? 'quick' : flag('full') || process.env.WEBGPU_ADAPTER === 'gpu' ? 'full' : 'cpu';
const P = {
  quick: { conv64: 56, conv256: 14, size: 32, project: 32, occlusion: 32, grid: 2, matmul: 512, copy: 16, warmup: 1, repeats: 2, heavy: 1, projectRepeats: 1, tuneRepeats: 3 },
  cpu: { conv64: 112, conv256: 28, size: 112, project: 32, occlusion: 32, grid: 3, matmul: 512, copy: 64, warmup: 1, repeats: 3, heavy: 1, projectRepeats: 3, tuneRepeats: 3 },
  full: { conv64: 112, conv256: 28, size: 112, project: 112, occlusion: 112, grid: 7, matmul: 1024, copy: 64, warmup: 2, repeats: 10, heavy: 5, projectRepeats: 5, tuneRepeats: 3 },
}[profile];
export const args: BenchArgs = {
  only: arg('only', '') ? arg('only', '').split(',') : null,
  warmup: num('warmup', P.warmup),
  repeats: num('repeats', P.repeats),
  heavyRepeats: num('heavy-repeats', P.heavy),
  projectRepeats: num('project-repeats', P.projectRepeats),
  conv64Size: P.conv64,
  conv256Size: P.conv256,
  vggSize: num('size', P.size),
  projectSize: num('project-size', P.project),
  occlusionSize: num('occlusion-size', P.occlusion),
  occlusionGrid: num('occlusion-grid', P.grid),
  matmulN: num('matmul', P.matmul),
  copyMiB: P.copy,
  trainBatch: 64,
  ort: !flag('no-ort') && !flag('node'),
  tune: !flag('no-tune'),
  tuneRepeats: num('tune-repeats', P.tuneRepeats),
};
export const out = arg('out', profile === 'quick' ? 'bench/results/quick.tmp.json' : 'bench/results/latest.json');


/** Runs `bench` (the page's main on some adapter), then writes the JSON and prints the table. */
export async function runAndReport(host: string, bench: (args: BenchArgs) => Promise<BenchResult>): Promise<void> {
  const loadBefore = loadavg();
  const started = Date.now();
  const result = await bench(args);
  const seconds = (Date.now() - started) / 1000;
  const loadAfter = loadavg();

  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
    loadAverage1m: { before: loadBefore[0], after: loadAfter[0] },
  };
  const json = {
    date: new Date().toISOString(),
    command: process.argv.includes('--run-node-bench')
      ? `node bench-node.mjs ${process.argv.slice(2).join(' ')} (the bundle of bench/node.ts, scripts/device-bundle.sh)`
      : `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    seconds: Math.round(seconds),
    host,
    machine,
    adapter: result.adapter,
    versions: result.versions,
    profile,
    settings: args,
    ceilings: result.ceilings,
    ortError: result.ortError,
    workloads: result.workloads.map((w) => ({
      name: w.name, oursMs: w.oursMs, tfjsMs: w.tfjsMs, ratio: w.ratio, spread: w.spread,
      ...(w.ortMs !== undefined ? { ortMs: w.ortMs, ortRatio: w.ortRatio } : {}),
      ...(w.projectVsForward !== undefined ? { projectVsForward: w.projectVsForward, oursForwardMs: w.extraMs?.oursForward ?? null, projectVsForwardGpu: w.projectVsForwardGpu ?? null, gpuMs: w.gpuMs ?? null } : {}),
      fractionOfCeiling: w.fractionOfCeiling, gflops: w.gflops, config: w.config, flops: w.flops, check: w.check, errors: w.errors,
      ...(w.kernels ? { kernels: w.kernels, tuneSeconds: w.tuneSeconds } : {}),
    })),
  };
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(json, null, 2)}\n`);

  // ---- table ---------------------------------------------------------------
  const ms = (x: number | null | undefined) => (x == null ? '-' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
  const range = (w: WorkloadResult, who: string) => {
    const s = w.spread[who];
    return s ? `${ms(s.min)}-${ms(s.max)}` : (w.errors[who] ? 'error' : '-');
  };
  const pct = (x: number | null | undefined) => (x == null ? '-' : `${(100 * x).toFixed(1)}%`);
  const rows = [
    ['workload', 'ours ms (min-max)', 'tfjs ms (min-max)', 'ratio', 'ort ms', 'ortRatio', 'ours GFLOP/s', 'of ceiling ours/tfjs', 'check tfjs/ort'],
    ...result.workloads.map((w) => [
      w.name,
      `${ms(w.oursMs)} (${range(w, 'ours')})`,
      `${ms(w.tfjsMs)} (${range(w, 'tfjs')})`,
      w.ratio == null ? '-' : w.ratio.toFixed(2),
      w.ortMs === undefined ? '' : w.ortMs === null ? 'n/a' : `${ms(w.ortMs)} (${range(w, 'ort')})`,
      w.ortRatio == null ? (w.ortMs === undefined ? '' : 'n/a') : w.ortRatio.toFixed(2),
      w.gflops.ours == null ? '-' : w.gflops.ours.toFixed(2),
      `${pct(w.fractionOfCeiling.ours)} / ${pct(w.fractionOfCeiling.tfjs)}`,
      [w.check.tfjs, w.check.ort].filter((v) => v !== undefined).map((v) => (v == null ? '-' : v.toExponential(0))).join(' / '),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log('');
  console.log(line(rows[0]!));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows.slice(1)) console.log(line(r));
  const c = result.ceilings;
  console.log('');
  console.log(`ceilings: copy ${(c.copy.bytesPerSecond / 1e9).toFixed(2)} GB/s (${(c.copy.bytes / 2 ** 20).toFixed(0)} MiB copyBufferToBuffer, ${ms(c.copy.ms)} ms); ` +
    `matmul ${c.matmul.n}^3: ours ${((c.matmul.oursFlops ?? 0) / 1e9).toFixed(2)} GFLOP/s (${ms(c.matmul.oursMs)} ms), tfjs ${((c.matmul.tfjsFlops ?? 0) / 1e9).toFixed(2)} GFLOP/s (${ms(c.matmul.tfjsMs)} ms); ` +
    `"of ceiling" = workload FLOP/s / best matmul FLOP/s (${c.matmul.bestBy})`);
  console.log('FLOP/s count the multiply-adds of the direct convolution (2 per tap), whichever algorithm ran: a Winograd variant does 2.25-4x fewer, so its rate can pass the matmul ceiling');
  for (const w of result.workloads) {
    if (w.projectVsForward !== undefined) {
      console.log(`${w.name}: ours forward + projection = ${w.projectVsForward == null ? '-' : w.projectVsForward.toFixed(2)} x ours forward alone (${ms(w.extraMs?.oursForward)} ms) by the wall clock`
        + (w.projectVsForwardGpu != null && w.gpuMs ? `, ${w.projectVsForwardGpu.toFixed(2)} x in GPU time (${ms(w.gpuMs.project)} / ${ms(w.gpuMs.forward)} ms)` : ''));
    }
  }
  console.log(`ratio = tfjsMs / oursMs, ortRatio = ortMs / oursMs (> 1: ours faster); medians of interleaved rounds; check = relative L2 distance of each peer's output from ours`);
  if (result.ortError) console.log(`onnxruntime-web: ${result.ortError}`);
  for (const w of result.workloads) for (const [who, e] of Object.entries(w.errors)) if (who !== 'ort' || e !== result.ortError) console.log(`${w.name} ${who}: ${e}`);
  console.log(`ours ran ${args.tune ? 'with kernel variants tuned per shape on this adapter (runtime.tune, before timing)' : 'with the adapter-default kernel variants (--no-tune)'}; kernel timer: ${result.adapter.timer ?? '-'}; host: ${host}`);
  console.log(`adapter: ${result.adapter.ours} (TF.js: ${result.adapter.tfjs}${result.adapter.ort ? `, ORT: ${result.adapter.ort}` : ''}); TF.js ${result.versions.tfjs}${result.versions.onnxruntimeWeb ? `, onnxruntime-web ${result.versions.onnxruntimeWeb}` : ''}; ${machine.cores} x ${machine.cpu}; load average ${loadBefore[0]!.toFixed(2)} before, ${loadAfter[0]!.toFixed(2)} after; ${Math.round(seconds)} s`);
  console.log(`wrote ${out}`);
}
