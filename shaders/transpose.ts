import { defineParams } from './params.js';
import { defineKernel, dispatch1d, flatMain, kernelHeader, read, readWrite, type KernelProgram } from './kernel.js';
import { MAX_RANK, axisFields, decodeIndex } from './elementwise.js';

// Axis permutation up to rank 6. Output axis k is input axis perm[k]: the
// output index is decoded over the output's sizes (padded to MAX_RANK) and
// each coordinate is multiplied by the input stride of the axis it came from,
// so the permutation lives in the uniforms and one pipeline serves them all.
// Writes are contiguous; reads stride (no tiling: these tensors are small
// next to the convolutions around them).

export const WORKGROUP = 256;
export { MAX_RANK };

/** `d`: output sizes; `s`: for each output axis, the input stride of its source axis. */
export const transposeParams = defineParams({ total: 'u32', ...axisFields('d'), ...axisFields('s') });

const transposeKernel = defineKernel('transpose', () => `
${kernelHeader(transposeParams, [read('x'), readWrite('y')])}
${flatMain(WORKGROUP, 'p.total', `  var at = 0u;
  ${decodeIndex('i', 'd', [['at', 's']])}
  y[i] = x[at];`)}
`);

/** One transpose launch over `fields.total` elements; buffers [x, y]. */
export function transposeProgram(fields: TransposeFields): KernelProgram {
  return transposeKernel.program(undefined, transposeParams.pack(fields), dispatch1d(fields.total, WORKGROUP));
}

export type TransposeFields = Parameters<typeof transposeParams.pack>[0];
