import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { defineParams, flatIndexFn } from './params.js';
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

/** Bindings and the per-element prologue both directions share: `src` is read, `dst` written at i. */
function prologue(src: string, dst: string): string {
  return `
${sliceParams.struct}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ${src}: array<f32>;
@group(0) @binding(2) var<storage, read_write> ${dst}: array<f32>;
${flatIndexFn(WORKGROUP)}

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= p.total) { return; }
  var rem = i;`;
}

export function sliceShader(): string {
  return wgsl`${prologue('x', 'y')}
  var at = 0i;
  ${perAxis((k) => `{ let c = i32(rem % p.d${k}); rem = rem / p.d${k}; at += (p.b${k} + c * p.t${k}) * i32(p.s${k}); }`)}
  y[i] = x[u32(at)];
}
`;
}

export function sliceBackwardShader(): string {
  return wgsl`${prologue('g', 'dx')}
  var at = 0u;
  var inside = true;
  ${perAxis((k) => `{ let c = i32(rem % p.d${k}); rem = rem / p.d${k}; let q = c - p.b${k}; let j = q / p.t${k};
    inside = inside && q == j * p.t${k} && j >= 0 && j < i32(p.o${k}); at += u32(max(j, 0)) * p.s${k}; }`)}
  var v = 0.0;
  if (inside) { v = g[at]; }
  dx[i] = v;
}
`;
}
