import { defineParams } from './params.js';
import { defineKernel, dispatch1d, flatMain, kernelHeader, read, readWrite, rowMain, type Dispatch, type KernelProgram } from './kernel.js';

// Sum over every axis but 1 of a tensor seen as [outer, C, inner] (the bias
// gradient: [N, C, H, W] -> [C], [N, F] -> [F]). No float atomics: every sum
// is taken in a fixed order, so results are deterministic.
//
// Two variants:
// - 'serial': one invocation per channel walks its outer * inner elements.
//   For many channels with few elements each (a dense bias, [N, F]: the
//   invocations of a workgroup read neighbouring words of each row), and as
//   the second pass of the split below.
// - 'tree': one workgroup per (channel, chunk) strides over a range of the
//   channel's elements (neighbouring invocations read neighbouring pixels) and
//   combines its partial sums in a shared-memory tree. A channel with many
//   elements (large N * H * W) is cut into chunks so that a handful of
//   channels still spreads over many workgroups; the chunk sums land in a
//   [chunks, C] buffer that the 'serial' variant then sums.

export const WORKGROUP = 256;

/** `chunkLen`: elements of one channel per workgroup (tree); `count` = outer * inner. */
export const channelSumParams = defineParams({
  outer: 'u32', channels: 'u32', inner: 'u32', count: 'u32', chunkLen: 'u32', chunks: 'u32',
});

export type ChannelSumVariant = 'serial' | 'tree' | 'rows';

// - 'rows' (CPU adapters such as SwiftShader, where workgroup memory and
//   barriers are expensive): one invocation per (outer index, channel, piece)
//   sums `chunkLen` contiguous elements of one [inner] run with no shared
//   memory; the [outer * chunks, C] partials are then summed per channel, in
//   order, by a 'serial' pass. `chunks` = pieces per run here.

/** Invocations a 'rows' workgroup runs. */
const ROWS_WORKGROUP = 64;

const channelSumKernel = defineKernel('channel-sum', ({ variant }: { variant: ChannelSumVariant }) => `
${kernelHeader(channelSumParams, [read('x'), readWrite('out')])}

// Element j (0 <= j < outer * inner) of channel c.
fn at(c: u32, j: u32) -> f32 {
  let o = j / p.inner;
  let i = j - o * p.inner;
  return x[(o * p.channels + c) * p.inner + i];
}
${variant === 'rows' ? rowsMain() : variant === 'serial' ? serialMain() : treeMain()}
`);

/** i: (outer index, channel, piece). */
function rowsMain(): string {
  return flatMain(ROWS_WORKGROUP, 'p.outer * p.channels * p.chunks', `  let piece = i % p.chunks;
  let oc = i / p.chunks;
  let c = oc % p.channels;
  let o = oc / p.channels;
  let begin = oc * p.inner + piece * p.chunkLen;
  let end = oc * p.inner + min((piece + 1u) * p.chunkLen, p.inner);
  var s = 0.0;
  for (var j = begin; j < end; j++) { s += x[j]; }
  out[(o * p.chunks + piece) * p.channels + c] = s;`);
}

/** i: the channel. */
function serialMain(): string {
  return flatMain(WORKGROUP, 'p.channels', `  var s = 0.0;
  for (var j = 0u; j < p.count; j++) { s += at(i, j); }
  out[i] = s;`);
}

/** row: (channel, chunk); the chunk's partial sums meet in a shared-memory tree. */
function treeMain(): string {
  return `var<workgroup> partial: array<f32, ${WORKGROUP}>;

${rowMain(WORKGROUP, 'p.channels * p.chunks', `  let c = row % p.channels;
  let chunk = row / p.channels;
  let begin = chunk * p.chunkLen;
  let end = min(begin + p.chunkLen, p.count);
  var s = 0.0;
  for (var j = begin + li; j < end; j += ${WORKGROUP}u) { s += at(c, j); }
  partial[li] = s;
  workgroupBarrier();
  for (var k = ${WORKGROUP / 2}u; k > 0u; k >>= 1u) {
    if (li < k) { partial[li] += partial[li + k]; }
    workgroupBarrier();
  }
  if (li == 0u) { out[chunk * p.channels + c] = partial[0]; }`)}`;
}

function channelSumDispatch(variant: ChannelSumVariant, v: Parameters<typeof channelSumParams.pack>[0]): Dispatch {
  if (variant === 'serial') return dispatch1d(v.channels, WORKGROUP);
  if (variant === 'rows') return dispatch1d(v.outer * v.channels * v.chunks, ROWS_WORKGROUP);
  return dispatch1d(v.channels * v.chunks, 1);
}

/** Buffers [x, out]. */
export function channelSumProgram(variant: ChannelSumVariant, values: Parameters<typeof channelSumParams.pack>[0], label: string): KernelProgram {
  return channelSumKernel.program({ variant }, channelSumParams.pack(values), channelSumDispatch(variant, values), label);
}
