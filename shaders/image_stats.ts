import { defineParams } from './params.js';

// Per row of a tensor (an image, or one channel plane of it): the smallest
// and largest finite value and the largest finite magnitude, the statistics
// the pictures are normalised with (src/io/gpu_output.ts). Rows with no
// finite value give (+max, -max, 0). Two variants:
//   'tree':   one workgroup per row; each invocation scans a stride of the
//             row, then a tree in workgroup memory combines them (GPUs);
//   'direct': one invocation per row scans it alone, no workgroup memory or
//             barriers (CPU adapters such as SwiftShader, where each
//             workgroup with barriers costs about a millisecond).

export const WORKGROUP = 64;

export const imageStatsParams = defineParams({ rows: 'u32', length: 'u32', offset: 'u32' });

export type ImageStatsVariant = 'tree' | 'direct';

export function imageStatsShader(variant: ImageStatsVariant): string {
  return variant === 'direct' ? directShader() : treeShader();
}

const COMMON = `
${imageStatsParams.struct}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> stats: array<f32>;

const BIG = 3.402823e38;
fn finite(v: f32) -> bool { return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u; }
`;

function directShader(): string {
  return `${COMMON}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let row = gid.x;
  if (row >= p.rows) { return; }
  var l = BIG;
  var h = -BIG;
  var m = 0.0;
  let base = p.offset + row * p.length;
  for (var i = 0u; i < p.length; i++) {
    let v = x[base + i];
    if (finite(v)) { l = min(l, v); h = max(h, v); m = max(m, abs(v)); }
  }
  stats[4u * row] = l;
  stats[4u * row + 1u] = h;
  stats[4u * row + 2u] = m;
  stats[4u * row + 3u] = 0.0;
}
`;
}

function treeShader(): string {
  return `${COMMON}
var<workgroup> lo: array<f32, ${WORKGROUP}>;
var<workgroup> hi: array<f32, ${WORKGROUP}>;
var<workgroup> mag: array<f32, ${WORKGROUP}>;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) t: u32) {
  let row = wg.x;
  var l = BIG;
  var h = -BIG;
  var m = 0.0;
  if (row < p.rows) {
    let base = p.offset + row * p.length;
    for (var i = t; i < p.length; i += ${WORKGROUP}u) {
      let v = x[base + i];
      if (finite(v)) { l = min(l, v); h = max(h, v); m = max(m, abs(v)); }
    }
  }
  lo[t] = l;
  hi[t] = h;
  mag[t] = m;
  for (var half = ${WORKGROUP / 2}u; half > 0u; half = half / 2u) {
    workgroupBarrier();
    if (t < half) {
      lo[t] = min(lo[t], lo[t + half]);
      hi[t] = max(hi[t], hi[t + half]);
      mag[t] = max(mag[t], mag[t + half]);
    }
  }
  if (t == 0u && row < p.rows) {
    stats[4u * row] = lo[0];
    stats[4u * row + 1u] = hi[0];
    stats[4u * row + 2u] = mag[0];
    stats[4u * row + 3u] = 0.0;
  }
}
`;
}
