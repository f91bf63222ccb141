import { defineParams } from './params.js';
import { defineKernel, dispatch1d, flatMain, kernelHeader, read, readWrite, type KernelProgram } from './kernel.js';

// Merges one batch's candidates (from channel_max: per image and chosen
// channel, the map's strongest activation and its position) into a running
// table that stays on the GPU for the whole dataset pass. Per channel the
// table holds the k best entries (value bits, image index, position),
// strongest first; empty slots have image index NONE and sit at the end.
//
// One invocation per channel inserts the batch's images in order: a candidate
// goes before the first slot that is empty or strictly weaker. The table only
// holds images from earlier batches and the batch is scanned by increasing
// image, so an equal value always comes from a lower image and stays ahead:
// ties go to the lower image index. Work per channel is batch * k, tiny next
// to the forward pass, and the table is edited in place (no ping-pong buffer).
//
// The batch's first image index is read from a one-element buffer, not the
// uniform, so the runtime's uniform cache does not grow with every batch.

export const WORKGROUP = 64;

/** `count`: channels in the table; `k`: slots per channel; `batch`: images in this batch; `offset`: first table entry of this layer. */
export const topkMergeParams = defineParams({
  count: 'u32', k: 'u32', batch: 'u32', offset: 'u32',
});

// cand [batch, count, 2]: bitcast<u32>(value), position (NONE: no candidate).
// first [1]: index of the batch's first image in the dataset.
// table [entries, 3]: bitcast<u32>(value), image index (NONE: empty), position.
const topkMergeKernel = defineKernel('topk-merge', () => `
${kernelHeader(topkMergeParams, [read('cand', 'array<u32>'), read('first', 'array<u32>'), readWrite('table', 'array<u32>')])}

const NONE = 0xffffffffu;
${flatMain(WORKGROUP, 'p.count', `  let m = i;
  let slots = (p.offset + m * p.k) * 3u;
  let image0 = first[0];
  for (var n = 0u; n < p.batch; n++) {
    let c = (n * p.count + m) * 2u;
    let position = cand[c + 1u];
    if (position == NONE) { continue; }
    let value = bitcast<f32>(cand[c]);
    var at = p.k;
    for (var q = 0u; q < p.k; q++) {
      let s = slots + q * 3u;
      if (table[s + 1u] == NONE || bitcast<f32>(table[s]) < value) { at = q; break; }
    }
    if (at == p.k) { continue; }
    for (var q = p.k - 1u; q > at; q--) {
      let to = slots + q * 3u;
      table[to] = table[to - 3u];
      table[to + 1u] = table[to - 2u];
      table[to + 2u] = table[to - 1u];
    }
    let s = slots + at * 3u;
    table[s] = bitcast<u32>(value);
    table[s + 1u] = image0 + n;
    table[s + 2u] = position;
  }`)}
`);

/** Buffers [cand, first, table]; one invocation per channel of the table (`count`). */
export function topkMergeProgram(values: Parameters<typeof topkMergeParams.pack>[0]): KernelProgram {
  return topkMergeKernel.program(undefined, topkMergeParams.pack(values), dispatch1d(values.count, WORKGROUP), 'topk merge');
}
