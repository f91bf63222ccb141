import { defineParams } from './params.js';
import { IS_NAN_FN } from './maxpool2d.js';
import { defineKernel, flatMain, kernelHeader, read, readWrite, rowMain } from './kernel.js';

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

/** The shared arrays of argmaxTree. */
export function argmaxShared(workgroup: number): string {
  return `var<workgroup> bestValue: array<f32, ${workgroup}>;
var<workgroup> bestIndex: array<u32, ${workgroup}>;`;
}

/**
 * Statements combining each invocation's (bestValue[li], bestIndex[li]) in a
 * fixed-order shared-memory tree by the kernel's better(); the winner ends at
 * index 0. Starts and ends with a barrier.
 */
export function argmaxTree(workgroup: number): string {
  return `  workgroupBarrier();
  for (var stride = ${workgroup / 2}u; stride > 0u; stride >>= 1u) {
    if (li < stride && better(bestValue[li + stride], bestIndex[li + stride], bestValue[li], bestIndex[li])) {
      bestValue[li] = bestValue[li + stride];
      bestIndex[li] = bestIndex[li + stride];
    }
    workgroupBarrier();
  }`;
}

/** A workgroup per (image, channel) pair: a strided scan, then a shared-memory tree. */
const WIDE_MAIN = `${argmaxShared(WORKGROUP)}

${rowMain(WORKGROUP, 'p.pairs', `  let pair = row;
  let n = pair / p.count;
  let base = (n * p.channels + list[pair % p.count]) * p.plane;
  var v = 0.0;
  var j = NONE;
  for (var k = li; k < p.plane; k += ${WORKGROUP}u) {
    let a = act[base + k];
    if (!isNan(a) && better(a, k, v, j)) { v = a; j = k; }
  }
  bestValue[li] = v;
  bestIndex[li] = j;
${argmaxTree(WORKGROUP)}
  if (li == 0u) {
    cand[pair * 2u] = bitcast<u32>(bestValue[0]);
    cand[pair * 2u + 1u] = bestIndex[0];
  }`)}`;

/** An invocation per pair scans the plane alone. */
const NARROW_MAIN = flatMain(WORKGROUP, 'p.pairs', `  let pair = i;
  let n = pair / p.count;
  let base = (n * p.channels + list[pair % p.count]) * p.plane;
  var v = 0.0;
  var j = NONE;
  for (var k = 0u; k < p.plane; k++) {
    let a = act[base + k];
    if (!isNan(a) && better(a, k, v, j)) { v = a; j = k; }
  }
  cand[pair * 2u] = bitcast<u32>(v);
  cand[pair * 2u + 1u] = j;`);

/** cand [batch, count, 2]: bitcast<u32>(value), position. */
export function channelMaxShader(variant: ChannelMaxVariant): string {
  return `
${kernelHeader(channelMaxParams, [read('act'), read('list', 'array<u32>'), readWrite('cand', 'array<u32>')])}

const NONE = 0xffffffffu;
${IS_NAN_FN}

// Is (a at i) ahead of (b at j)? Higher value first, then the lower position; NONE is last.
fn better(a: f32, i: u32, b: f32, j: u32) -> bool {
  if (i == NONE) { return false; }
  if (j == NONE) { return true; }
  return a > b || (a == b && i < j);
}

${variant === 'wide' ? WIDE_MAIN : NARROW_MAIN}
`;
}

/** Program factory (shaders/kernel.ts): the pipeline key is derived from the spec. */
export const channelMaxKernel = defineKernel('channel-max', (s: { variant: ChannelMaxVariant }) => channelMaxShader(s.variant));
