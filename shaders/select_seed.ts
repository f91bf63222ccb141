import { defineParams } from './params.js';
import { defineKernel, kernelHeader, read, readWrite, rowMain } from './kernel.js';
import { argmaxShared, argmaxTree } from './channel_max.js';

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

/** The position kept in the chosen channel ('all': none, every position is kept). */
const PICK: Record<SeedPosition, string> = {
  max: `  var v = -3.4e38;
  var j = 0xffffffffu;
  for (var k = li; k < p.plane; k += ${WORKGROUP}u) {
    let a = act[channelBase + k];
    if (better(a, k, v, j)) { v = a; j = k; }
  }
  bestValue[li] = v;
  bestIndex[li] = j;
${argmaxTree(WORKGROUP)}
  let picked = workgroupUniformLoad(&bestIndex[0]);`,
  at: '  let picked = positions[n];',
  all: '  let picked = 0xffffffffu;',
};

/** One workgroup per image (row n). */
export function selectSeedShader(position: SeedPosition): string {
  return `
${kernelHeader(selectSeedParams, [read('act'), readWrite('seed'), readWrite('chosen', 'array<u32>'), position === 'at' && read('positions', 'array<u32>')])}

${argmaxShared(WORKGROUP)}

fn better(v: f32, i: u32, w: f32, j: u32) -> bool {
  return v > w || (v == w && i < j);
}

${rowMain(WORKGROUP, 'p.batch', `  let n = row;
  let imageBase = n * p.channels * p.plane;
  let channelBase = imageBase + p.channel * p.plane;

${PICK[position]}

  if (li == 0u) { chosen[n] = picked; }
  let count = p.channels * p.plane;
  for (var k = li; k < count; k += ${WORKGROUP}u) {
    let inChannel = k >= p.channel * p.plane && k < (p.channel + 1u) * p.plane;
    let keep = ${position === 'all' ? 'inChannel' : 'inChannel && k - p.channel * p.plane == picked'};
    let value = select(act[imageBase + k], 1.0, p.one != 0u);
    seed[imageBase + k] = select(0.0, value, keep);
  }`)}
`;
}

/** Program factory (shaders/kernel.ts): the pipeline key is derived from the spec. */
export const selectSeedKernel = defineKernel('select-seed', (s: { position: SeedPosition }) => selectSeedShader(s.position));
