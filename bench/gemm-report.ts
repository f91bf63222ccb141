// npx tsx bench/gemm-report.ts [--batch 1] [--sms 132]
// Static report of the GEMM core (shaders/gemm.ts) per (shape, variant),
// computed from the launch plan and the generated WGSL, no GPU needed:
// workgroups (and per SM of a --sms model GPU, default 132 as an H100),
// multiply-adds per shared-memory vec4 load and per global byte staged,
// integer divisions / modulos inside the K loop (must be 0), workgroup memory.
// Shapes: VGG16's 3x3 convolutions at 224x224 (implicit GEMM) and square matmuls.
import { GEMM_TILES, INNER_LOOP_BEGIN, INNER_LOOP_END, gemmShader, gemmThreads, type GemmSpec, type GemmTile } from '../shaders/gemm.js';
import { GEMM_CONV_VARIANTS, GEMM_MATMUL_VARIANTS, gemmPlan } from '../src/ops/gemm.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
};
const batch = Number(arg('batch', '1'));
const sms = Number(arg('sms', '132'));

/** Divisions and modulos in the K loop's body of the generated WGSL (comments stripped). */
export function divisionsInKLoop(spec: GemmSpec): number {
  const wgsl = gemmShader(spec);
  const body = wgsl.slice(wgsl.indexOf(INNER_LOOP_BEGIN) + INNER_LOOP_BEGIN.length, wgsl.indexOf(INNER_LOOP_END));
  return (body.replace(/\/\/.*$/gm, '').match(/[/%]/g) ?? []).length;
}

/** Per k step an invocation reads RM/4 + RN/4 vec4s of workgroup memory for RM * RN multiply-adds. */
const madsPerSharedLoad = (t: GemmTile) => (t.rm * t.rn) / (t.rm / 4 + t.rn / 4);
/** Per slab a workgroup stages (TM + TN) * TK floats from global memory for TM * TN * TK multiply-adds. */
const madsPerGlobalByte = (t: GemmTile) => (t.tm * t.tn) / (4 * (t.tm + t.tn));
const sharedBytes = (t: GemmTile) => 4 * t.tk * (t.tm + t.tn);

const VGG16: Array<[string, number, number, number]> = [
  ['conv1_1', 3, 64, 224], ['conv1_2', 64, 64, 224],
  ['conv2_1', 64, 128, 112], ['conv2_2', 128, 128, 112],
  ['conv3_1', 128, 256, 56], ['conv3_2', 256, 256, 56],
  ['conv4_1', 256, 512, 28], ['conv4_2', 512, 512, 28],
  ['conv5_1', 512, 512, 14],
];

const rows: string[][] = [];
const header = ['shape', 'variant', 'M x N x K', 'tiles', 'slices', 'workgroups', 'per SM', 'MAD/shared ld', 'MAD/global B', 'div in K loop', 'shared B'];
for (const [name, cin, cout, size] of VGG16) {
  for (const [variant, v] of Object.entries(GEMM_CONV_VARIANTS)) {
    const dims = { M: cout, N: batch * size * size, K: cin * 9 };
    const plan = gemmPlan(v.tile, dims, { splitK: v.splitK });
    const spec: GemmSpec = { tile: v.tile, operands: { kind: 'conv' }, epilogue: plan.slices > 1 ? { kind: 'partial' } : { kind: 'final', bias: true, relu: true, accumulate: false } };
    rows.push(row(`${name} ${size}x${size}x${cin}>${cout} n${batch}`, variant, dims, plan, spec));
  }
}
for (const n of [1024, 4096]) {
  for (const [variant, v] of Object.entries(GEMM_MATMUL_VARIANTS)) {
    const dims = { M: n, N: n, K: n };
    const plan = gemmPlan(v.tile, dims, { splitK: v.splitK });
    const spec: GemmSpec = { tile: v.tile, operands: { kind: 'matmul', transposeA: false, transposeB: false }, epilogue: { kind: 'final', bias: false, relu: false, accumulate: false } };
    rows.push(row(`matmul ${n}^3`, variant, dims, plan, spec));
  }
}

function row(shape: string, variant: string, d: { M: number; N: number; K: number }, plan: ReturnType<typeof gemmPlan>, spec: GemmSpec): string[] {
  const t = plan.tile;
  return [
    shape, variant, `${d.M} x ${d.N} x ${d.K}`, `${plan.tilesM * plan.tilesN * plan.groups}`, `${plan.slices}`, `${plan.workgroups}`,
    (plan.workgroups / sms).toFixed(2), madsPerSharedLoad(t).toFixed(0), madsPerGlobalByte(t).toFixed(0),
    `${divisionsInKLoop(spec)}`, `${sharedBytes(t)}`,
  ];
}

const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
console.log(`GEMM core, static figures (batch ${batch}, a ${sms}-SM model GPU; ${Object.entries(GEMM_TILES).map(([k, t]) => `${k}: ${gemmThreads(t)} invocations of ${t.rm}x${t.rn}`).join(', ')})`);
console.log(line(header));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const r of rows) console.log(line(r));
