import { defineParams } from './params.js';
import { defineKernel, dispatch1d, flatMain, kernelHeader, read, readWrite, type KernelProgram } from './kernel.js';

// Per-channel affine map on axis 1 of [N, C, ...]: inference batch
// normalisation after its statistics were folded into one multiplier and one
// offset per channel. Being affine, its exact backward rule is the same
// multiplier without the offset.

export const WORKGROUP = 256;

/** `plane`: elements per channel of one sample (product of the axes after 1). */
export const channelAffineParams = defineParams({ size: 'u32', channels: 'u32', plane: 'u32' });

const channelAffineKernel = defineKernel('channel-affine', ({ backward }: { backward: boolean }) => `
${kernelHeader(channelAffineParams, [read('x'), readWrite('y'), read('multiplier'), !backward && read('offset')])}
${flatMain(WORKGROUP, 'p.size', `  let c = (i / p.plane) % p.channels;
  y[i] = x[i] * multiplier[c]${backward ? '' : ' + offset[c]'};`)}
`);

/** Buffers [x, y, multiplier, offset] (forward) or [g, dx, multiplier] (backward). */
export function channelAffineProgram(backward: boolean, values: Parameters<typeof channelAffineParams.pack>[0]): KernelProgram {
  const label = backward ? 'channelAffine backward' : 'channelAffine';
  return channelAffineKernel.program({ backward }, channelAffineParams.pack(values), dispatch1d(values.size, WORKGROUP), label);
}
