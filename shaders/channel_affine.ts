import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { defineParams, flatIndexFn } from './params.js';

// Per-channel affine map on axis 1 of [N, C, ...]: inference batch
// normalisation after its statistics were folded into one multiplier and one
// offset per channel. Being affine, its exact backward rule is the same
// multiplier without the offset.

export const WORKGROUP = 256;

/** `plane`: elements per channel of one sample (product of the axes after 1). */
export const channelAffineParams = defineParams({ size: 'u32', channels: 'u32', plane: 'u32' });

export function channelAffineShader(backward: boolean): string {
  return wgsl`
${channelAffineParams.struct}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read> multiplier: array<f32>;
#if ${!backward}
@group(0) @binding(4) var<storage, read> offset: array<f32>;
#endif
${flatIndexFn(WORKGROUP)}

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= p.size) { return; }
  let c = (i / p.plane) % p.channels;
#if ${backward}
  y[i] = x[i] * multiplier[c];
#else
  y[i] = x[i] * multiplier[c] + offset[c];
#endif
}
`;
}
