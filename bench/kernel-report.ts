// npx tsx bench/kernel-report.ts [--size 224] [--batches 1,16] [--matmul 1024,4096] [--sms 132]
//   [--op conv2d] [--json bench/results/kernel-report.json]
//
// The static kernel report: for each (shape, variant) of VGG16's convolutions,
// their transposed convolutions and square matrix multiplies, the programs the
// library records (captured on a stand-in device, bench/program-capture.ts;
// no GPU) and what their WGSL and launch sizes say (bench/wgsl-analysis.ts):
// workgroups, workgroups per SM of a GPU with --sms SMs (132: an H100 SXM),
// invocations and workgroup memory per workgroup, multiply-adds per
// workgroup-memory load and per byte read from storage in the hot loop, and
// integer divisions/modulos in inner loops, which must be 0 for the GPU
// (non-'direct') variants: violations are flagged and listed.
// Variants come from the registry (KERNEL_VARIANTS) at run time.
import { writeFileSync } from 'node:fs';
import { analyzeWgsl, type WgslReport } from './wgsl-analysis.js';
import { capture, captureRuntime, variantsOf, type CapturedProgram } from './program-capture.js';
import { caseMacs, caseTensors, kernelCases, recordCase, vggConvShapes, type KernelCase } from './kernel-cases.js';
import type { Runtime } from '../src/gpu/runtime.js';
import type { TunableOp } from '../src/gpu/tuning.js';
import { GEMM_CONV_F16_ROWS } from '../src/ops/gemm.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const numbers = (s: string) => s.split(',').filter(Boolean).map(Number);

/** One analysed pass of a (case, variant). */
export interface PassRow extends Omit<WgslReport, 'workgroupVars'> {
  key: string;
  dispatch: [number, number, number];
  workgroups: number;
  workgroupsPerSm: number;
}

export interface VariantRow {
  case: string;
  op: string;
  batch: number;
  variant: string;
  /** What the chooser answered for each op recorded (a pin the shape cannot take falls back). */
  ran: string[];
  macs: number;
  /** Passes of a call once derived weights are cached (the second call). */
  passes: PassRow[];
  /** Passes only the first call recorded (weight transforms cached afterwards). */
  firstCallOnly: string[];
  /** The pass doing the multiply-adds (the most hot-loop work), summarised in the table. */
  main: PassRow | null;
  /** GPU variant with integer divisions in an inner loop of any of its passes. */
  violation: boolean;
}

const isGpuVariant = (variant: string) => !variant.startsWith('direct');

function passRow(p: CapturedProgram, sms: number, cache: Map<string, WgslReport>): PassRow {
  let a = cache.get(p.wgsl);
  if (!a) cache.set(p.wgsl, (a = analyzeWgsl(p.wgsl)));
  const { workgroupVars: _, ...rest } = a;
  const workgroups = p.dispatch[0] * p.dispatch[1] * p.dispatch[2];
  return { key: p.key, dispatch: p.dispatch, workgroups, workgroupsPerSm: workgroups / sms, ...rest };
}

/** The pass with the most multiply-adds per launch (hot-loop multiply-adds x invocations x workgroups). */
function mainPass(passes: PassRow[]): PassRow | null {
  const work = (p: PassRow) => (p.hot?.macs ?? 0) * (p.invocations ?? 1) * p.workgroups;
  return passes.filter((p) => work(p) > 0).sort((a, b) => work(b) - work(a))[0] ?? null;
}

/** The registry's variants of `op`, and for conv2d the f16 forms of the GEMM core (its row pinned, runtime.precision set; docs/f16.md). */
export function reportVariants(op: TunableOp): string[] {
  return [...variantsOf(op), ...(op === 'conv2d' ? Object.keys(GEMM_CONV_F16_ROWS) : [])];
}

async function reportVariant(rt: Runtime, c: KernelCase, variant: string, sms: number, cache: Map<string, WgslReport>): Promise<VariantRow> {
  const f16 = GEMM_CONV_F16_ROWS[variant];
  rt.pinKernel(c.op, f16?.pin ?? variant);
  rt.precision = f16?.precision ?? 'f32';
  const tensors = caseTensors(rt, c);
  const call = () => capture(rt, async () => { (await rt.run(c.label, (rec) => recordCase(rec, c, tensors))).release(); });
  try {
    const first = await call();
    const steady = await call();
    const steadyKeys = new Set(steady.programs.map((p) => p.key));
    const passes = steady.programs.map((p) => passRow(p, sms, cache));
    return {
      case: c.label, op: c.op, batch: c.batch, variant, ran: [...new Set(steady.chosen)], macs: caseMacs(c), passes,
      firstCallOnly: first.programs.filter((p) => !steadyKeys.has(p.key)).map((p) => p.key),
      main: mainPass(passes),
      violation: isGpuVariant(variant) && passes.some((p) => p.innerDivisions > 0),
    };
  } finally {
    for (const t of Object.values(tensors)) t.release();
    rt.unpinKernel(c.op);
    rt.precision = 'f32';
  }
}

export async function kernelReport(cases: KernelCase[], sms: number): Promise<VariantRow[]> {
  const rt = await captureRuntime();
  const cache = new Map<string, WgslReport>();
  const rows: VariantRow[] = [];
  for (const c of cases) {
    for (const variant of reportVariants(c.op)) rows.push(await reportVariant(rt, c, variant, sms, cache));
  }
  rt.destroy();
  return rows;
}

// ---- printing ------------------------------------------------------------------

const fmt = (x: number | null | undefined, digits = 1) => (x == null ? '-' : Number.isInteger(x) ? String(x) : x.toFixed(digits));

function table(rows: VariantRow[]): string[] {
  const head = ['variant (ran)', 'passes', 'workgroups', 'wg/SM', 'inv/wg', 'smem B', 'MAC/smem ld', 'MAC/glob B', 'inner div', 'main pass'];
  const body = rows.map((r) => {
    const m = r.main;
    const ran = r.ran.filter((x) => !x.endsWith(`:${r.variant}`) || !x.startsWith(`${r.op}:`));
    const divs = r.passes.reduce((s, p) => s + p.innerDivisions, 0);
    return [
      `${r.variant}${ran.length ? ` (${ran.join(', ')})` : ''}`,
      `${r.passes.length}${r.firstCallOnly.length ? ` +${r.firstCallOnly.length} once` : ''}`,
      fmt(m?.workgroups), m ? `${fmt(m.workgroupsPerSm, 2)}${m.workgroupsPerSm < 1 ? ' !' : ''}` : '-',
      fmt(m?.invocations), fmt(m?.workgroupBytes), fmt(m?.macsPerSharedLoad, 2), fmt(m?.macsPerGlobalByte, 2),
      `${divs}${r.violation ? ' VIOLATION' : ''}`,
      m ? (m.key.length > 72 ? `${m.key.slice(0, 71)}…` : m.key) : '-',
    ];
  });
  const all = [head, ...body];
  const widths = head.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return all.map((r) => `  ${r.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`.trimEnd());
}

/** Per (op, batch, variant) over the VGG16 layer shapes: the range of each figure of the main pass. */
function summary(rows: VariantRow[]): string[] {
  const groups = new Map<string, VariantRow[]>();
  for (const r of rows.filter((x) => x.op !== 'matmul')) {
    const key = `${r.op} b${r.batch}|${r.variant}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const span = (xs: Array<number | null | undefined>, digits: number) => {
    const v = xs.filter((x): x is number => x != null);
    if (!v.length) return '-';
    const lo = fmt(Math.min(...v), digits), hi = fmt(Math.max(...v), digits);
    return lo === hi ? lo : `${lo}-${hi}`;
  };
  const head = ['op, batch', 'variant', 'wg/SM', 'inv/wg', 'smem B', 'MAC/smem ld', 'MAC/glob B', 'inner div'];
  const body = [...groups].map(([key, rs]) => {
    const [opBatch, variant] = key.split('|') as [string, string];
    const mains = rs.map((r) => r.main);
    return [opBatch, variant, span(mains.map((m) => m?.workgroupsPerSm), 2), span(mains.map((m) => m?.invocations), 0), span(mains.map((m) => m?.workgroupBytes), 0),
      span(mains.map((m) => m?.macsPerSharedLoad), 2), span(mains.map((m) => m?.macsPerGlobalByte), 2),
      `${span(rs.map((r) => r.passes.reduce((n, p) => n + p.innerDivisions, 0)), 0)}${rs.some((r) => r.violation) ? ' VIOLATION' : ''}`];
  });
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...body.map((r) => `| ${r.join(' | ')} |`)];
}

/** One line per (op, variant, division sites), with how many cases share it. */
function violationLines(violations: VariantRow[]): string[] {
  const groups = new Map<string, number>();
  for (const r of violations) {
    const key = `${r.op} ${r.variant}: ${[...new Set(r.passes.flatMap((p) => p.innerDivisionSites))].join('; ')}`;
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  return [...groups].map(([key, n]) => `  ${key} (${n} cases)`);
}

async function main(): Promise<void> {
  const size = Number(arg('size', '224'));
  const sms = Number(arg('sms', '132'));
  const only = arg('op', '');
  const cases = kernelCases({ size, batches: numbers(arg('batches', '1,16')), matmulNs: numbers(arg('matmul', '1024,4096')) })
    .filter((c) => !only || c.op === only);
  const started = Date.now();
  const rows = await kernelReport(cases, sms);
  for (const c of cases) {
    console.log(`\n${c.label} (${c.op}, ${(caseMacs(c) / 1e9).toFixed(2)} G multiply-adds)`);
    for (const line of table(rows.filter((r) => r.case === c.label))) console.log(line);
  }
  console.log(`\nVGG16's ${vggConvShapes(size).length} conv shapes at ${size}x${size}, main pass of each (shape, variant), min-max over the shapes:`);
  for (const line of summary(rows)) console.log(line);
  const violations = rows.filter((r) => r.violation);
  console.log(`\nmain pass = the pass doing the multiply-adds; wg/SM = its workgroups / ${sms} SMs ("!" under 1); MAC/smem ld and MAC/glob B per iteration of its hot loop`);
  console.log('(the K walk; storage bytes as the kernel requests them, before caches); inner div = integer / and % at loop depth >= 2 of all passes (power-of-two constants excluded);');
  console.log('"+N once" = passes only the first call records (weights transformed once and cached); (op:variant) = what the chooser ran where it differs from the pin.');
  console.log(violations.length ? `\nGPU variants with integer divisions in inner loops:\n${violationLines(violations).join('\n')}` : '\nno GPU variant divides in an inner loop');
  const out = arg('json', 'bench/results/kernel-report.json');
  writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), command: `npx tsx bench/kernel-report.ts ${process.argv.slice(2).join(' ')}`.trim(), sms, size, rows }, null, 1)}\n`);
  console.log(`${rows.length} (case, variant) rows in ${((Date.now() - started) / 1000).toFixed(1)} s; wrote ${out}`);
}

if (process.argv[1]?.endsWith('kernel-report.ts')) await main();
