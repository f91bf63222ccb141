// Command-line arguments of the device check (bench/device.ts and its bundled
// Node entry bench/device-node.ts), shared so both read the same flags:
//   --dry                 reduced sizes and generous budgets (the SwiftShader dry run)
//   --sections a,b        adapter, gate, kernels, workloads (default all)
//   --budgets gate=35,kernels=140,workloads=120   seconds per section (scripts/device-check.sh
//                         kills each section's process 10-15 s past these)
//   --size N --batches 1,16 --matmul 1024,4096 --repeats N   the kernels section
//   --layers conv1_2,conv4_1   only these VGG16 layers' shapes there (--dry: conv1_2, conv3_1, conv5_1)
//   --workloads conv64,project   a subset of the six workloads
//   --out FILE            the JSON, rewritten after every item
import type { BenchArgs } from './page.js';
import type { DeviceArgs } from './device-sections.js';

export const SECTIONS = ['adapter', 'gate', 'kernels', 'workloads'] as const;
export type Section = typeof SECTIONS[number];

export const WORKLOADS = ['conv64', 'conv256', 'vgg16-forward', 'project', 'occlusion', 'train-step'];

/** Dawn toggles for exact kernel times: timestamps not rounded to 100 us (needs allow_unsafe_apis). */
export const TIMESTAMP_FLAGS = ['enable-dawn-features=allow_unsafe_apis', 'disable-dawn-features=timestamp_quantization'];

// The sizes (as the H100 run of 2026-11-28: VGG16 and project at 224, occlusion 7x7 at 112).
const FULL_BENCH: BenchArgs = {
  only: null, warmup: 2, repeats: 10, heavyRepeats: 5, projectRepeats: 5,
  conv64Size: 112, conv256Size: 28, vggSize: 224, projectSize: 224, occlusionSize: 112, occlusionGrid: 7,
  matmulN: 1024, copyMiB: 64, trainBatch: 64, ort: false, tune: true, tuneRepeats: 3,
};
// Small enough for SwiftShader on two cores; untuned (tuning compiles every variant: minutes there).
const DRY_BENCH: BenchArgs = {
  only: null, warmup: 1, repeats: 2, heavyRepeats: 1, projectRepeats: 1,
  conv64Size: 28, conv256Size: 14, vggSize: 32, projectSize: 32, occlusionSize: 32, occlusionGrid: 2,
  matmulN: 128, copyMiB: 4, trainBatch: 16, ort: false, tune: false, tuneRepeats: 3,
};

function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

function list(argv: string[], name: string): string[] | undefined {
  return arg(argv, name)?.split(',').filter(Boolean);
}

function numbers(argv: string[], name: string, fallback: number[]): number[] {
  const v = list(argv, name)?.map(Number) ?? fallback;
  if (v.some((x) => !Number.isInteger(x) || x <= 0)) throw new Error(`--${name} takes positive integers, got ${arg(argv, name)}`);
  return v;
}

export function parseDeviceArgs(argv: string[], host: string, adapterFlags: string[]): DeviceArgs & { out: string } {
  const dry = argv.includes('--dry');
  const budgets = dry ? { gate: 420, kernels: 600, workloads: 900 } : { gate: 35, kernels: 140, workloads: 120 };
  for (const [k, v] of (list(argv, 'budgets') ?? []).map((s) => s.split('='))) {
    if (!(k! in budgets) || !(Number(v) > 0)) throw new Error(`--budgets: "${k}=${v}" is not gate|kernels|workloads=<seconds>`);
    budgets[k as keyof typeof budgets] = Number(v);
  }
  const sections = (list(argv, 'sections') ?? [...SECTIONS]) as Section[];
  const unknown = sections.filter((s) => !SECTIONS.includes(s));
  if (unknown.length) throw new Error(`--sections: unknown ${unknown.join(', ')} (${SECTIONS.join(', ')})`);
  const workloads = list(argv, 'workloads') ?? WORKLOADS;
  const bad = workloads.filter((w) => !WORKLOADS.includes(w));
  if (bad.length) throw new Error(`--workloads: unknown ${bad.join(', ')} (${WORKLOADS.join(', ')})`);
  const layers = list(argv, 'layers') ?? (dry ? ['conv1_2', 'conv3_1', 'conv5_1'] : undefined);
  const day = new Date().toISOString().slice(0, 10);
  return {
    dry, budgets, sections, workloads, host, adapterFlags,
    size: numbers(argv, 'size', [dry ? 32 : 224])[0]!,
    batches: numbers(argv, 'batches', dry ? [1, 2] : [1, 16]),
    matmulNs: numbers(argv, 'matmul', dry ? [128, 256] : [1024, 4096]),
    repeats: numbers(argv, 'repeats', [dry ? 2 : 3])[0]!,
    ...(layers ? { layers } : {}),
    bench: dry ? DRY_BENCH : FULL_BENCH,
    out: arg(argv, 'out') ?? (dry ? `bench/results/swiftshader-dryrun-${day}.json` : `bench/results/device-${day}.json`),
  };
}
