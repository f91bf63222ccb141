import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { defineParams } from './params.js';

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

/** Binding order of each variant: x, [base], [pairs], out. */
export function reduceRowsBindings(variant: ReduceRowsVariant): string[] {
  if (variant === 'sqdist') return ['x', 'base', 'out'];
  if (variant === 'sign-mismatch') return ['x', 'base', 'pairs', 'out'];
  return ['x', 'out'];
}

export function reduceRowsShader(variant: ReduceRowsVariant): string {
  const outBinding = reduceRowsBindings(variant).length;
  const argmax = variant === 'argmax';
  const sign = variant === 'sign-mismatch';
  const hasBase = variant === 'sqdist' || sign;
  return wgsl`
${reduceRowsParams.struct}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
#if ${hasBase}
@group(0) @binding(2) var<storage, read> base: array<f32>;
#endif
#if ${sign}
@group(0) @binding(3) var<storage, read> pairs: array<u32>;
var<workgroup> counts: array<u32, ${WORKGROUP}>;
#else
var<workgroup> partial: array<f32, ${WORKGROUP}>;
#endif
@group(0) @binding(${outBinding}) var<storage, read_write> out: array<f32>;
#if ${argmax}
var<workgroup> partialIndex: array<u32, ${WORKGROUP}>;

// Candidate (v, i) beats (w, j); index 0xffffffff marks "nothing seen yet"
// (an invocation whose stride missed the row), so even -inf rows get an index.
fn better(v: f32, i: u32, w: f32, j: u32) -> bool {
  if (i == 0xffffffffu) { return false; }
  return j == 0xffffffffu || v > w || (v == w && i < j);
}
#endif

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  // r is the same for the whole workgroup, so this return is uniform.
  let r = wid.x + wid.y * 65535u;
  if (r >= p.rows) { return; }

#if ${sign}
  let i = pairs[2u * r];
  let j = pairs[2u * r + 1u];
  var acc = 0u;
  for (var k = tid; k < p.length; k += ${WORKGROUP}u) {
    let ei = base[i * p.baseStride + p.baseOffset + k] - x[i * p.rowStride + p.offset + k];
    let ej = base[j * p.baseStride + p.baseOffset + k] - x[j * p.rowStride + p.offset + k];
    acc += select(0u, 1u, sign(ei) != sign(ej));
  }
  counts[tid] = acc;
  workgroupBarrier();
  for (var s = ${WORKGROUP / 2}u; s > 0u; s >>= 1u) {
    if (tid < s) { counts[tid] += counts[tid + s]; }
    workgroupBarrier();
  }
  if (tid == 0u) { out[p.outOffset + r] = f32(counts[0]); }
#else
  let row = r * p.rowStride + p.offset;
#if ${argmax}
  var acc = -3.4e38;
  var at = 0xffffffffu;
  for (var k = tid; k < p.length; k += ${WORKGROUP}u) {
    let v = x[row + k];
    if (better(v, k, acc, at)) { acc = v; at = k; }
  }
  partialIndex[tid] = at;
#else
  var acc = 0.0;
  for (var k = tid; k < p.length; k += ${WORKGROUP}u) {
#if ${hasBase}
    let d = x[row + k] - base[r * p.baseStride + p.baseOffset + k];
    acc += d * d;
#else
    acc += x[row + k];
#endif
  }
#endif
  partial[tid] = acc;
  workgroupBarrier();
  for (var s = ${WORKGROUP / 2}u; s > 0u; s >>= 1u) {
    if (tid < s) {
#if ${argmax}
      if (better(partial[tid + s], partialIndex[tid + s], partial[tid], partialIndex[tid])) {
        partial[tid] = partial[tid + s];
        partialIndex[tid] = partialIndex[tid + s];
      }
#else
      partial[tid] += partial[tid + s];
#endif
    }
    workgroupBarrier();
  }
  if (tid == 0u) {
#if ${argmax}
    out[p.outOffset + 2u * r] = partial[0];
    out[p.outOffset + 2u * r + 1u] = f32(partialIndex[0]);
#elif ${hasBase}
    out[p.outOffset + r] = select(partial[0], sqrt(partial[0]), p.root != 0u);
#else
    out[p.outOffset + r] = partial[0];
#endif
  }
#endif
}
`;
}
