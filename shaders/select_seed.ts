import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { defineParams } from './params.js';
import { defineKernel } from './kernel.js';

// The start of a projection: a copy of one layer's activations with every
// value zeroed except the chosen ones of one channel (Zeiler & Fergus: "set
// all other activations in the layer to zero"). One workgroup per image:
// the strongest activation is found by a shared-memory argmax (ties go to the
// lowest index, so results are deterministic), then the workgroup writes the
// image's whole seed.

export const WORKGROUP = 256;

export type SeedPosition = 'max' | 'at' | 'all';

/** `plane` = H*W of the layer (1 for flat layers); `one` != 0: seed 1 instead of the activation. Position 'at' reads y*W+x per image from `positions`. */
export const selectSeedParams = defineParams({
  batch: 'u32', channels: 'u32', plane: 'u32', channel: 'u32', one: 'u32',
});

export function selectSeedShader(position: SeedPosition): string {
  return wgsl`
${selectSeedParams.struct}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> act: array<f32>;
@group(0) @binding(2) var<storage, read_write> seed: array<f32>;
@group(0) @binding(3) var<storage, read_write> chosen: array<u32>;
#if ${position === 'at'}
@group(0) @binding(4) var<storage, read> positions: array<u32>;
#endif

var<workgroup> bestValue: array<f32, ${WORKGROUP}>;
var<workgroup> bestIndex: array<u32, ${WORKGROUP}>;

fn better(v: f32, i: u32, w: f32, j: u32) -> bool {
  return v > w || (v == w && i < j);
}

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let n = wid.x + wid.y * 65535u;
  if (n >= p.batch) { return; }
  let imageBase = n * p.channels * p.plane;
  let channelBase = imageBase + p.channel * p.plane;

#if ${position === 'max'}
  var v = -3.4e38;
  var j = 0xffffffffu;
  for (var i = tid; i < p.plane; i += ${WORKGROUP}u) {
    let a = act[channelBase + i];
    if (better(a, i, v, j)) { v = a; j = i; }
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
  let picked = workgroupUniformLoad(&bestIndex[0]);
#elif ${position === 'at'}
  let picked = positions[n];
#else
  let picked = 0xffffffffu;
#endif

  if (tid == 0u) { chosen[n] = picked; }
  let count = p.channels * p.plane;
  for (var i = tid; i < count; i += ${WORKGROUP}u) {
    let inChannel = i >= p.channel * p.plane && i < (p.channel + 1u) * p.plane;
#if ${position === 'all'}
    let keep = inChannel;
#else
    let keep = inChannel && i - p.channel * p.plane == picked;
#endif
    let value = select(act[imageBase + i], 1.0, p.one != 0u);
    seed[imageBase + i] = select(0.0, value, keep);
  }
}
`;
}

/** Program factory (shaders/kernel.ts): the pipeline key is derived from the spec. */
export const selectSeedKernel = defineKernel('select-seed', (s: { position: SeedPosition }) => selectSeedShader(s.position));
