import { defineParams } from './params.js';
import { POOL_FIELDS, WORKGROUP, windowsReaching, type PoolVariant } from './maxpool2d.js';
import { INPUT_PIXEL } from './pixel.js';
import { defineKernel, dispatch1d, flatMain, kernelHeader, read, readWrite, type KernelProgram } from './kernel.js';

// Unpooling (Zeiler & Fergus 2014) = the gradient of max pooling: each input
// position receives the sum of the signals of the windows whose switch chose
// it. Gathered rather than scattered: one invocation per *input* element
// walks the (ky, kx) taps backwards to the windows that can contain it, so
// overlapping windows (3x3 stride 2) that picked the same position add up in
// a fixed order without atomics or races.

export { WORKGROUP };

export const unpoolParams = defineParams(POOL_FIELDS);

/** The uniforms and buffers both unpooling variants bind: the signal, the switches, the output. */
const unpoolHeader = kernelHeader(unpoolParams, [read('g'), read('switches', 'array<u32>'), readWrite('dx')]);

/** Invocations a 'row' workgroup runs. */
const ROW_WORKGROUP = 64;

/**
 * 'element' (GPUs): the gather above, one invocation per input element.
 * 'row' (CPU adapters such as SwiftShader, which pay per invocation): one
 * invocation per input row (n, c, iy); it zeroes the row, then walks the
 * output rows whose windows can reach row iy and adds each signal whose switch
 * lies in this row. The row is owned by this invocation alone, so the
 * read-modify-writes cannot race; overlapping windows add up in (oy, ox) order.
 * `total` counts rows.
 */
export function unpool2dShader(variant: PoolVariant = 'element'): string {
  if (variant === 'row') return unpoolRowShader();
  return `
${unpoolHeader}
${flatMain(WORKGROUP, 'p.total', `${INPUT_PIXEL}
  let here = u32(iy * p.W + ix);
  var acc = 0.0;
${windowsReaching('      if (switches[o] == here) { acc += g[o]; }')}
  dx[i] = acc;`)}
`;
}

function unpoolRowShader(): string {
  return `
${unpoolHeader}
${flatMain(ROW_WORKGROUP, 'p.total', `  let h = u32(p.H);
  let iy = i32(i % h);
  let plane = i / h;
  let rowStart = i * u32(p.W);
  for (var ix = 0u; ix < u32(p.W); ix++) { dx[rowStart + ix] = 0.0; }
  // Windows of output row oy cover input rows oy * sH - padTop .. + (kH - 1) * dH.
  let hi = (iy + p.padTop) / p.sH;
  let lo = max(iy + p.padTop - (p.kH - 1) * p.dH, 0);
  let oyLo = (lo + p.sH - 1) / p.sH;
  let oyHi = min(hi, p.OH - 1);
  let here = iy * p.W;
  for (var oy = oyLo; oy <= oyHi; oy++) {
    let o0 = (plane * u32(p.OH) + u32(oy)) * u32(p.OW);
    for (var ox = 0u; ox < u32(p.OW); ox++) {
      let rel = i32(switches[o0 + ox]) - here;
      if (rel >= 0 && rel < p.W) { dx[rowStart + u32(rel)] += g[o0 + ox]; }
    }
  }`)}
`;
}

const unpool2dKernel = defineKernel('unpool2d', ({ variant }: { variant: PoolVariant }) => unpool2dShader(variant));

/**
 * Buffers [g, switches, dx]. `total` counts the invocations: input elements
 * ('element') or input rows ('row').
 */
export function unpool2dProgram(variant: PoolVariant, values: Parameters<typeof unpoolParams.pack>[0]): KernelProgram {
  const workgroup = variant === 'row' ? ROW_WORKGROUP : WORKGROUP;
  return unpool2dKernel.program({ variant }, unpoolParams.pack(values), dispatch1d(values.total, workgroup));
}
