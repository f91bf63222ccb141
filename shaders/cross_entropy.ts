import { defineParams } from './params.js';
import { defineKernel, dispatch1d, kernelHeader, read, readWrite, rowMain, type KernelProgram } from './kernel.js';
import { workgroupTreeFns } from './softmax.js';

// Softmax cross-entropy on logits [N, K] with integer labels [N], fused:
//   row pass: one workgroup per row finds the row max (and its first index,
//     the prediction), the sum of exp(x - max) (every exponent <= 0: no
//     overflow for any logits), then
//       loss_row = log(sum) + max - x[label]          (= -log softmax[label])
//       grad     = (exp(x - max) / sum - onehot(label)) * gradScale   (training variant)
//     and writes (loss_row, argmax == label) to a [N, 2] scratch buffer.
//   reduce pass: ONE workgroup sums the N pairs (strided partial sums, then a
//     fixed-order tree) and adds them into stats[0], stats[1]. No float
//     atomics, so the totals are the same on every run.
// Labels >= K cannot be reported from here; they are clamped to K - 1 (the op
// documents that labels are checked on the CPU where they are uploaded).

export const ROW_WORKGROUPS = [32, 64, 128, 256] as const;
export type RowWorkgroup = (typeof ROW_WORKGROUPS)[number];
export const REDUCE_WORKGROUP = 256;

export function rowWorkgroup(classes: number): RowWorkgroup {
  return ROW_WORKGROUPS.find((w) => w >= classes) ?? 256;
}

export const crossEntropyParams = defineParams({ rows: 'u32', classes: 'u32', gradScale: 'f32' });

export interface CrossEntropyRowSpec { grad: boolean; workgroup: RowWorkgroup }

// With a gradient, after the row's max m, sum `total` and label are known.
const gradientLoop = `  let inv = 1.0 / total;
  for (var j = li; j < p.classes; j += WG) {
    let q = exp(logits[start + j] - m) * inv;
    grad[start + j] = (q - select(0.0, 1.0, j == label)) * p.gradScale;
  }
`;

const crossEntropyRowKernel = defineKernel('cross-entropy-rows', ({ grad, workgroup }: CrossEntropyRowSpec) => `
${kernelHeader(crossEntropyParams, [read('logits'), read('labels', 'array<u32>'), readWrite('rowStats'), grad && readWrite('grad')])}

${workgroupTreeFns(workgroup)}
var<workgroup> bestV: array<f32, ${workgroup}>;
var<workgroup> bestI: array<u32, ${workgroup}>;

${rowMain(workgroup, 'p.rows', `  let start = row * p.classes;

  // Max and its lowest index: each invocation sees increasing j, so a strict
  // '>' keeps its first maximum; the tree prefers the lower index on ties.
  var bv = -3.4028234e38;
  var bi = 0xffffffffu;
  for (var j = li; j < p.classes; j += WG) {
    let v = logits[start + j];
    if (v > bv || bi == 0xffffffffu) { bv = v; bi = j; }
  }
  bestV[li] = bv;
  bestI[li] = bi;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) {
      let ov = bestV[li + s];
      let oi = bestI[li + s];
      let mv = bestV[li];
      let mi = bestI[li];
      if (oi != 0xffffffffu && (mi == 0xffffffffu || ov > mv || (ov == mv && oi < mi))) {
        bestV[li] = ov;
        bestI[li] = oi;
      }
    }
    workgroupBarrier();
  }
  let m = bestV[0];
  let argmax = bestI[0];

  var sum = 0.0;
  for (var j = li; j < p.classes; j += WG) { sum += exp(logits[start + j] - m); }
  let total = workgroupSum(li, sum);
  let label = min(labels[row], p.classes - 1u);

${grad ? gradientLoop : ''}  if (li == 0u) {
    rowStats[2u * row] = log(total) + m - logits[start + label];
    rowStats[2u * row + 1u] = select(0.0, 1.0, argmax == label);
  }`)}
`);

/** Buffers [logits, labels, rowStats, grad (with `grad`)]; one workgroup per row. */
export function crossEntropyRowProgram(spec: CrossEntropyRowSpec, values: Parameters<typeof crossEntropyParams.pack>[0], label: string): KernelProgram {
  return crossEntropyRowKernel.program(spec, crossEntropyParams.pack(values), dispatch1d(values.rows, 1), label);
}

/** One workgroup: stats[0] += sum of rowStats[2i], stats[1] += sum of rowStats[2i + 1]. */
const crossEntropyReduceKernel = defineKernel('cross-entropy-reduce', () => `
${kernelHeader(crossEntropyParams, [read('rowStats'), readWrite('stats')])}

const WG = ${REDUCE_WORKGROUP}u;
var<workgroup> loss: array<f32, ${REDUCE_WORKGROUP}>;
var<workgroup> hits: array<f32, ${REDUCE_WORKGROUP}>;

@compute @workgroup_size(${REDUCE_WORKGROUP})
fn main(@builtin(local_invocation_index) li: u32) {
  var l = 0.0;
  var h = 0.0;
  for (var r = li; r < p.rows; r += WG) {
    l += rowStats[2u * r];
    h += rowStats[2u * r + 1u];
  }
  loss[li] = l;
  hits[li] = h;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) {
      loss[li] += loss[li + s];
      hits[li] += hits[li + s];
    }
    workgroupBarrier();
  }
  if (li == 0u) {
    stats[0] += loss[0];
    stats[1] += hits[0];
  }
}
`);

/** Buffers [rowStats, stats]: one workgroup adds the per-row pairs into stats. */
export function crossEntropyReduceProgram(values: Parameters<typeof crossEntropyParams.pack>[0], label: string): KernelProgram {
  return crossEntropyReduceKernel.program(undefined, crossEntropyParams.pack(values), [1, 1, 1], label);
}
