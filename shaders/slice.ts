import { defineParams } from './params.js';
import { defineKernel, dispatch1d, flatMain, kernelHeader, read, readWrite, type KernelProgram } from './kernel.js';
import { MAX_RANK } from './elementwise.js';

// Strided slice up to rank 6 (ONNX Slice, Split's parts): output coordinate c
// along axis k reads input coordinate start_k + c * step_k (step may be
// negative). Shapes, starts and steps are uniforms, left-padded to MAX_RANK,
// so one pipeline serves every slice.
//
// The backward is a gather too (no atomics): each input element finds the
// output coordinate q = (c - start) / step along every axis; it received a
// value when every q is a whole number inside the output, and gets zero
// otherwise (the gradient of a slice: zero padding, in every mode).

export const WORKGROUP = 256;
export { MAX_RANK };

function fields(prefix: string, type: 'u32' | 'i32'): Record<string, 'u32' | 'i32'> {
  return Object.fromEntries(Array.from({ length: MAX_RANK }, (_, k) => [`${prefix}${k}`, type]));
}

/** `d`: the sizes the index is decoded over (output forward, input backward); `o`: output sizes; `s`: strides of the other tensor; `b`, `t`: starts and steps. */
export const sliceParams = defineParams({
  total: 'u32', ...fields('d', 'u32'), ...fields('o', 'u32'), ...fields('s', 'u32'), ...fields('b', 'i32'), ...fields('t', 'i32'),
} as Record<string, 'u32' | 'i32'>);

function perAxis(body: (k: number) => string): string {
  return Array.from({ length: MAX_RANK }, (_, j) => body(MAX_RANK - 1 - j)).join('\n  ');
}

/** Each element walks its index axis by axis, last axis first, from `rem`. */
const forwardBody = `  var rem = i;
  var at = 0i;
  ${perAxis((k) => `{ let c = i32(rem % p.d${k}); rem = rem / p.d${k}; at += (p.b${k} + c * p.t${k}) * i32(p.s${k}); }`)}
  y[i] = x[u32(at)];`;

const backwardBody = `  var rem = i;
  var at = 0u;
  var inside = true;
  ${perAxis((k) => `{ let c = i32(rem % p.d${k}); rem = rem / p.d${k}; let q = c - p.b${k}; let j = q / p.t${k};
    inside = inside && q == j * p.t${k} && j >= 0 && j < i32(p.o${k}); at += u32(max(j, 0)) * p.s${k}; }`)}
  var v = 0.0;
  if (inside) { v = g[at]; }
  dx[i] = v;`;

const sliceKernel = defineKernel('slice', ({ backward }: { backward: boolean }) => `
${kernelHeader(sliceParams, backward ? [read('g'), readWrite('dx')] : [read('x'), readWrite('y')])}
${flatMain(WORKGROUP, 'p.total', backward ? backwardBody : forwardBody)}
`);

/** Buffers [x, y] (forward) or [g, dx] (backward); `total` elements written. */
export function sliceProgram(backward: boolean, params: ArrayBuffer, total: number): KernelProgram {
  return sliceKernel.program({ backward }, params, dispatch1d(total, WORKGROUP), backward ? 'slice backward' : 'slice');
}
