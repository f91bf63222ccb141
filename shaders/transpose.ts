import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { defineParams, flatIndexFn } from './params.js';
import { MAX_RANK, axisFields, decodeIndex } from './elementwise.js';

// Axis permutation up to rank 6. Output axis k is input axis perm[k]: the
// output index is decoded over the output's sizes (padded to MAX_RANK) and
// each coordinate is multiplied by the input stride of the axis it came from,
// so the permutation lives in the uniforms and one pipeline serves them all.
// Writes are contiguous; reads stride (no tiling: these tensors are small
// next to the convolutions around them).

export const WORKGROUP = 256;
export { MAX_RANK };

/** `d`: output sizes; `s`: for each output axis, the input stride of its source axis. */
export const transposeParams = defineParams({ total: 'u32', ...axisFields('d'), ...axisFields('s') });

export function transposeShader(): string {
  return wgsl`
${transposeParams.struct}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
${flatIndexFn(WORKGROUP)}

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= p.total) { return; }
  var at = 0u;
  ${decodeIndex('i', 'd', [['at', 's']])}
  y[i] = x[at];
}
`;
}
