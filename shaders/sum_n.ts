import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { defineParams, flatIndexFn } from './params.js';
import { defineKernel } from './kernel.js';

// Element-wise sum of k same-shape tensors in one pass: each input is its own
// binding, so the number of inputs is baked into the code (one pipeline per
// k, k up to the storage bindings a stage allows, minus the output). The
// graph DeconvNet's common case, two signals meeting at a node, is k = 2:
// one read of each and one write per element, nothing more.

export const WORKGROUP = 256;

export const sumNParams = defineParams({ size: 'u32' });

export function sumNShader(k: number): string {
  const inputs = Array.from({ length: k }, (_, j) => `@group(0) @binding(${j + 1}) var<storage, read> x${j}: array<f32>;`);
  const terms = Array.from({ length: k }, (_, j) => `x${j}[i]`);
  return wgsl`
${sumNParams.struct}
@group(0) @binding(0) var<uniform> p: Params;
${inputs.join('\n')}
@group(0) @binding(${k + 1}) var<storage, read_write> y: array<f32>;
${flatIndexFn(WORKGROUP)}

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= p.size) { return; }
  y[i] = ${terms.join(' + ')};
}
`;
}

/** Program factory (shaders/kernel.ts): the pipeline key is derived from the spec. */
export const sumNKernel = defineKernel('sum-n', (s: { k: number }) => sumNShader(s.k));
