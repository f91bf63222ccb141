import { defineParams } from './params.js';
import { defineKernel, flatMain, kernelHeader, read, readWrite } from './kernel.js';

// Element-wise sum of k same-shape tensors in one pass: each input is its own
// binding, so the number of inputs is baked into the code (one pipeline per
// k, k up to the storage bindings a stage allows, minus the output). The
// graph DeconvNet's common case, two signals meeting at a node, is k = 2:
// one read of each and one write per element, nothing more.

export const WORKGROUP = 256;

export const sumNParams = defineParams({ size: 'u32' });

export function sumNShader(k: number): string {
  const inputs = Array.from({ length: k }, (_, j) => read(`x${j}`));
  const terms = Array.from({ length: k }, (_, j) => `x${j}[i]`);
  return `
${kernelHeader(sumNParams, [...inputs, readWrite('y')])}
${flatMain(WORKGROUP, 'p.size', `  y[i] = ${terms.join(' + ')};`)}
`;
}

/** Program factory (shaders/kernel.ts): the pipeline key is derived from the spec. */
export const sumNKernel = defineKernel('sum-n', (s: { k: number }) => sumNShader(s.k));
