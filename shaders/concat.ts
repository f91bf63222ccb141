import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { defineParams, flatIndexFn } from './params.js';

// Concatenation along one axis and its gradient, the slice along that axis.
// Any tensor seen as [outer, axis, inner] (outer = product of the sizes before
// the axis, inner = after it): a part of `len` rows along the axis sits at
// rows offset .. offset + len of the whole (`total` rows).
//
// 'scatter' copies one input into its rows of the output (concat runs one
// pass per input); 'gather' copies rows of the whole out (the slice). The
// invocation index runs over the part, so every element is read once and
// written once, whatever the axis.

export const WORKGROUP = 256;

export type AxisCopyDirection = 'scatter' | 'gather';

/** `size`: elements of the part; `len`/`offset`/`rows`: the part's rows and where they start in the whole's `rows`. */
export const axisCopyParams = defineParams({ size: 'u32', inner: 'u32', len: 'u32', offset: 'u32', rows: 'u32' });

export function axisCopyShader(direction: AxisCopyDirection): string {
  return wgsl`
${axisCopyParams.struct}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;
${flatIndexFn(WORKGROUP)}

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= p.size) { return; }
  let k = i % p.inner;
  let row = (i / p.inner) % p.len;
  let o = i / (p.inner * p.len);
  let whole = (o * p.rows + p.offset + row) * p.inner + k;
#if ${direction === 'scatter'}
  dst[whole] = src[i];
#else
  dst[i] = src[whole];
#endif
}
`;
}
