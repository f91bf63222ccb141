import { defineParams } from './params.js';
import { defineKernel, flatMain, kernelHeader, readWrite } from './kernel.js';

// Writes a tensor whose values follow a formula of the flat index instead of
// being uploaded: the constants an ONNX graph creates itself
// (ConstantOfShape, Range, and Expand / Tile / Transpose of them). Value j of
// the output is
//   start + sum over terms t of coef_t * ((offset + j) / div_t % mod_t)
// with integer division: one term with div 1 is a flat Range, terms over
// larger divs are the per-axis strides of an Expand, Tile or Transpose, no
// term is a fill. `offset` lets a row chunk of a split weight start inside
// the whole tensor's index space.

export const WORKGROUP = 256;
/** Terms in one formula; unused ones have coef 0. */
export const FILL_TERMS = 4;

export const fillParams = defineParams({
  count: 'u32', offset: 'u32', start: 'f32',
  c0: 'f32', d0: 'u32', m0: 'u32',
  c1: 'f32', d1: 'u32', m1: 'u32',
  c2: 'f32', d2: 'u32', m2: 'u32',
  c3: 'f32', d3: 'u32', m3: 'u32',
});

/** Value j (flat index `i` of the launch) of the output: the terms over the index in the whole tensor, offset + j. */
export const fillKernel = defineKernel('fill', () => `
${kernelHeader(fillParams, [readWrite('out')])}
${flatMain(WORKGROUP, 'p.count', `  let k = p.offset + i;
  var v = p.start;
${Array.from({ length: FILL_TERMS }, (_, t) => `  v += p.c${t} * f32((k / p.d${t}) % p.m${t});`).join('\n')}
  out[i] = v;`)}
`);
