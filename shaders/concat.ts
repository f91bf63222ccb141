import { defineParams } from './params.js';
import { defineKernel, dispatch1d, flatMain, kernelHeader, read, readWrite, type KernelProgram } from './kernel.js';

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

const axisCopyKernel = defineKernel('axis-copy', ({ direction }: { direction: AxisCopyDirection }) => `
${kernelHeader(axisCopyParams, [read('src'), readWrite('dst')])}
${flatMain(WORKGROUP, 'p.size', `  let k = i % p.inner;
  let row = (i / p.inner) % p.len;
  let o = i / (p.inner * p.len);
  let whole = (o * p.rows + p.offset + row) * p.inner + k;
  ${direction === 'scatter' ? 'dst[whole] = src[i];' : 'dst[i] = src[whole];'}`)}
`);

/** Buffers [src, dst]. */
export function axisCopyProgram(direction: AxisCopyDirection, values: Parameters<typeof axisCopyParams.pack>[0], label: string): KernelProgram {
  return axisCopyKernel.program({ direction }, axisCopyParams.pack(values), dispatch1d(values.size, WORKGROUP), label);
}
