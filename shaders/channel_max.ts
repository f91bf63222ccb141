import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { defineParams, flatIndexFn } from './params.js';
import { IS_NAN_FN } from './maxpool2d.js';
import { defineKernel } from './kernel.js';

// Per image and per chosen channel of a layer's activations [N, C, H, W]
// (or [N, F], every unit its own 1x1 channel): the strongest activation and
// its flat position y * W + x, written as one candidate (value bits,
// position) for topk_merge. Ties go to the lowest position, so the result is
// deterministic whatever the number of threads; NaNs are skipped, and a map
// with nothing but NaN yields position NONE, which topk_merge ignores.
//
// Two variants: 'wide' (big planes, e.g. 55x55) gives each (image, channel)
// a workgroup that scans the plane strided and reduces in shared memory;
// 'narrow' (small planes, flat layers) gives each pair one invocation, so a
// 4096-unit dense layer is not 4096 mostly idle workgroups.

export const WORKGROUP = 64;
/** Planes up to this size use the 'narrow' variant. */
export const NARROW_MAX_PLANE = 64;

export type ChannelMaxVariant = 'wide' | 'narrow';

/** `channels`: C of the layer; `plane`: H*W; `count`: chosen channels (length of `list`); `pairs`: batch * count. */
export const channelMaxParams = defineParams({
  batch: 'u32', channels: 'u32', plane: 'u32', count: 'u32', pairs: 'u32',
});

export function channelMaxShader(variant: ChannelMaxVariant): string {
  return wgsl`
${channelMaxParams.struct}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> act: array<f32>;
@group(0) @binding(2) var<storage, read> list: array<u32>;
// [batch, count, 2]: bitcast<u32>(value), position.
@group(0) @binding(3) var<storage, read_write> cand: array<u32>;

const NONE = 0xffffffffu;
${IS_NAN_FN}

// Is (a at i) ahead of (b at j)? Higher value first, then the lower position; NONE is last.
fn better(a: f32, i: u32, b: f32, j: u32) -> bool {
  if (i == NONE) { return false; }
  if (j == NONE) { return true; }
  return a > b || (a == b && i < j);
}

#if ${variant === 'wide'}
var<workgroup> bestValue: array<f32, ${WORKGROUP}>;
var<workgroup> bestIndex: array<u32, ${WORKGROUP}>;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) tid: u32) {
  // Uniform per workgroup, so the early return keeps the barriers uniform.
  let pair = wid.x + wid.y * nwg.x;
  if (pair >= p.pairs) { return; }
  let n = pair / p.count;
  let base = (n * p.channels + list[pair % p.count]) * p.plane;
  var v = 0.0;
  var j = NONE;
  for (var i = tid; i < p.plane; i += ${WORKGROUP}u) {
    let a = act[base + i];
    if (!isNan(a) && better(a, i, v, j)) { v = a; j = i; }
  }
  bestValue[tid] = v;
  bestIndex[tid] = j;
  workgroupBarrier();
  for (var stride = ${WORKGROUP / 2}u; stride > 0u; stride >>= 1u) {
    if (tid < stride && better(bestValue[tid + stride], bestIndex[tid + stride], bestValue[tid], bestIndex[tid])) {
      bestValue[tid] = bestValue[tid + stride];
      bestIndex[tid] = bestIndex[tid + stride];
    }
    workgroupBarrier();
  }
  if (tid == 0u) {
    cand[pair * 2u] = bitcast<u32>(bestValue[0]);
    cand[pair * 2u + 1u] = bestIndex[0];
  }
}
#else
${flatIndexFn(WORKGROUP)}

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let pair = flatIndex(gid, nwg);
  if (pair >= p.pairs) { return; }
  let n = pair / p.count;
  let base = (n * p.channels + list[pair % p.count]) * p.plane;
  var v = 0.0;
  var j = NONE;
  for (var i = 0u; i < p.plane; i++) {
    let a = act[base + i];
    if (!isNan(a) && better(a, i, v, j)) { v = a; j = i; }
  }
  cand[pair * 2u] = bitcast<u32>(v);
  cand[pair * 2u + 1u] = j;
}
#endif
`;
}

/** Program factory (shaders/kernel.ts): the pipeline key is derived from the spec. */
export const channelMaxKernel = defineKernel('channel-max', (s: { variant: ChannelMaxVariant }) => channelMaxShader(s.variant));
