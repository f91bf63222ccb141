import { defineParams } from './params.js';
import { defineKernel, dispatch1d, kernelHeader, read, readWrite, rowMain, type KernelProgram } from './kernel.js';

// Small per-row reductions that turn a batch of activations into the few
// numbers an analysis keeps (one per image, or per image pair), written at
// `outOffset` of a result buffer that collects a whole run, so the run reads
// back once at the end instead of once per batch.
//
// Row r of x is the `length` values starting at r * rowStride + offset (an
// image's feature vector, one channel's plane, or one class score when
// length = 1). One workgroup per row: each invocation strides over the row,
// then a shared-memory tree combines the partial results.
//
//   sum:      out[o + r] = sum_k x[row + k]
//   argmax:   out[o + 2r] = max_k x[row + k], out[o + 2r + 1] = f32(k of the max)
//             (ties to the lowest k, like select_seed; f32 is exact as the op
//             keeps length under 2^24)
//   sqdist:   out[o + r] = sum_k (x[row + k] - base[r * baseStride + baseOffset + k])^2,
//             its square root when `root` != 0 (baseStride 0: one reference row for all)
//   sign-mismatch (Zeiler & Fergus Sec. 5.2): row r is the image pair
//             (i, j) = (pairs[2r], pairs[2r + 1]); with e_i = base[i] - x[i] (original
//             minus masked features), out[o + r] = #{k : sign(e_i[k]) != sign(e_j[k])},
//             the Hamming distance of the sign vectors (sign(0) = 0), counted in
//             u32 and stored as f32 (exact under 2^24).

export const WORKGROUP = 256;

export type ReduceRowsVariant = 'sum' | 'argmax' | 'sqdist' | 'sign-mismatch';

export const reduceRowsParams = defineParams({
  rows: 'u32', length: 'u32', rowStride: 'u32', offset: 'u32',
  baseStride: 'u32', baseOffset: 'u32', outOffset: 'u32', root: 'u32',
});

// Candidate (v, i) beats (w, j); index 0xffffffff marks "nothing seen yet"
// (an invocation whose stride missed the row), so even -inf rows get an index.
const betterFn = `
var<workgroup> partialIndex: array<u32, ${WORKGROUP}>;

fn better(v: f32, i: u32, w: f32, j: u32) -> bool {
  if (i == 0xffffffffu) { return false; }
  return j == 0xffffffffu || v > w || (v == w && i < j);
}`;

/** Counts, per image pair, the positions where the two masks' effects differ in sign; u32 tree. */
const signMismatchBody = `  let i = pairs[2u * row];
  let j = pairs[2u * row + 1u];
  var acc = 0u;
  for (var k = li; k < p.length; k += ${WORKGROUP}u) {
    let ei = base[i * p.baseStride + p.baseOffset + k] - x[i * p.rowStride + p.offset + k];
    let ej = base[j * p.baseStride + p.baseOffset + k] - x[j * p.rowStride + p.offset + k];
    acc += select(0u, 1u, sign(ei) != sign(ej));
  }
  counts[li] = acc;
  workgroupBarrier();
  for (var s = ${WORKGROUP / 2}u; s > 0u; s >>= 1u) {
    if (li < s) { counts[li] += counts[li + s]; }
    workgroupBarrier();
  }
  if (li == 0u) { out[p.outOffset + row] = f32(counts[0]); }`;

/** sum, sqdist and argmax: a strided pass over the row, then an f32 tree (argmax carries its index). */
function reduceBody(variant: 'sum' | 'argmax' | 'sqdist'): string {
  const scan = variant === 'argmax'
    ? `  var acc = -3.4e38;
  var at = 0xffffffffu;
  for (var k = li; k < p.length; k += ${WORKGROUP}u) {
    let v = x[start + k];
    if (better(v, k, acc, at)) { acc = v; at = k; }
  }
  partialIndex[li] = at;`
    : `  var acc = 0.0;
  for (var k = li; k < p.length; k += ${WORKGROUP}u) {
${variant === 'sqdist' ? `    let d = x[start + k] - base[row * p.baseStride + p.baseOffset + k];
    acc += d * d;` : '    acc += x[start + k];'}
  }`;
  const combine = variant === 'argmax'
    ? `      if (better(partial[li + s], partialIndex[li + s], partial[li], partialIndex[li])) {
        partial[li] = partial[li + s];
        partialIndex[li] = partialIndex[li + s];
      }`
    : '      partial[li] += partial[li + s];';
  const store = variant === 'argmax'
    ? `    out[p.outOffset + 2u * row] = partial[0];
    out[p.outOffset + 2u * row + 1u] = f32(partialIndex[0]);`
    : variant === 'sqdist'
      ? '    out[p.outOffset + row] = select(partial[0], sqrt(partial[0]), p.root != 0u);'
      : '    out[p.outOffset + row] = partial[0];';
  return `  let start = row * p.rowStride + p.offset;
${scan}
  partial[li] = acc;
  workgroupBarrier();
  for (var s = ${WORKGROUP / 2}u; s > 0u; s >>= 1u) {
    if (li < s) {
${combine}
    }
    workgroupBarrier();
  }
  if (li == 0u) {
${store}
  }`;
}

const reduceRowsKernel = defineKernel('reduce-rows', ({ variant }: { variant: ReduceRowsVariant }) => {
  const sign = variant === 'sign-mismatch';
  const hasBase = variant === 'sqdist' || sign;
  return `
${kernelHeader(reduceRowsParams, [read('x'), hasBase && read('base'), sign && read('pairs', 'array<u32>'), readWrite('out')])}
${sign ? `var<workgroup> counts: array<u32, ${WORKGROUP}>;` : `var<workgroup> partial: array<f32, ${WORKGROUP}>;`}
${variant === 'argmax' ? betterFn : ''}

${rowMain(WORKGROUP, 'p.rows', sign ? signMismatchBody : reduceBody(variant))}
`;
});

/** Buffers: x, then base (sqdist, sign-mismatch), then pairs (sign-mismatch), then out. One workgroup per row. */
export function reduceRowsProgram(variant: ReduceRowsVariant, values: Parameters<typeof reduceRowsParams.pack>[0], label: string): KernelProgram {
  return reduceRowsKernel.program({ variant }, reduceRowsParams.pack(values), dispatch1d(values.rows, 1), label);
}
