import { defineParams } from './params.js';
import { defineKernel, dispatch1d, flatMain, kernelHeader, read, readWrite, rowMain, type Dispatch, type KernelProgram } from './kernel.js';

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

const COMMON = `
${kernelHeader(imageStatsParams, [read('x'), readWrite('stats')])}

const BIG = 3.402823e38;
fn finite(v: f32) -> bool { return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u; }
`;

/** i: the row. */
const directMain = flatMain(WORKGROUP, 'p.rows', `  var l = BIG;
  var h = -BIG;
  var m = 0.0;
  let base = p.offset + i * p.length;
  for (var k = 0u; k < p.length; k++) {
    let v = x[base + k];
    if (finite(v)) { l = min(l, v); h = max(h, v); m = max(m, abs(v)); }
  }
  stats[4u * i] = l;
  stats[4u * i + 1u] = h;
  stats[4u * i + 2u] = m;
  stats[4u * i + 3u] = 0.0;`);

const treeMain = `var<workgroup> lo: array<f32, ${WORKGROUP}>;
var<workgroup> hi: array<f32, ${WORKGROUP}>;
var<workgroup> mag: array<f32, ${WORKGROUP}>;

${rowMain(WORKGROUP, 'p.rows', `  var l = BIG;
  var h = -BIG;
  var m = 0.0;
  let base = p.offset + row * p.length;
  for (var k = li; k < p.length; k += ${WORKGROUP}u) {
    let v = x[base + k];
    if (finite(v)) { l = min(l, v); h = max(h, v); m = max(m, abs(v)); }
  }
  lo[li] = l;
  hi[li] = h;
  mag[li] = m;
  for (var half = ${WORKGROUP / 2}u; half > 0u; half = half / 2u) {
    workgroupBarrier();
    if (li < half) {
      lo[li] = min(lo[li], lo[li + half]);
      hi[li] = max(hi[li], hi[li + half]);
      mag[li] = max(mag[li], mag[li + half]);
    }
  }
  if (li == 0u) {
    stats[4u * row] = lo[0];
    stats[4u * row + 1u] = hi[0];
    stats[4u * row + 2u] = mag[0];
    stats[4u * row + 3u] = 0.0;
  }`)}`;

const imageStatsKernel = defineKernel('image-stats', ({ variant }: { variant: ImageStatsVariant }) => `${COMMON}
${variant === 'direct' ? directMain : treeMain}
`);

/** Buffers [x, stats]: one invocation ('direct') or one workgroup ('tree') per row. */
export function imageStatsProgram(variant: ImageStatsVariant, values: Parameters<typeof imageStatsParams.pack>[0]): KernelProgram {
  const dispatch: Dispatch = variant === 'direct' ? dispatch1d(values.rows, WORKGROUP) : dispatch1d(values.rows, 1);
  return imageStatsKernel.program({ variant }, imageStatsParams.pack(values), dispatch, 'image stats');
}
