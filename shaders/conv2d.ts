// Convolution kernels, one module per seam (shaders/conv2d/):
//   geometry.ts       the problem, Params geometry and packing, tile origin, epilogue, tiled launch
//   implicit_gemm.ts  'tiled', 'tiled-32': implicit GEMM on workgroup-shared tiles (shared with the transposed conv)
//   direct.ts         'direct*': register blocks without workgroup memory (CPU adapters)
//   vec4.ts           'tiled-vec4': vec4 tiles, no divisions in the inner loops
// and here, which kernel each conv variant name stands for.
import { chooseTiling, smallTiling, type ConvTiling } from './conv2d/implicit_gemm.js';
import { chooseDirectBlock, type DirectConvBlock } from './conv2d/direct.js';
import type { ConvWeightLayout } from './conv2d/geometry.js';

export * from './conv2d/geometry.js';
export * from './conv2d/implicit_gemm.js';
export * from './conv2d/direct.js';
export * from './conv2d/vec4.js';

/** The kernel of a convolution variant name (see KERNEL_VARIANTS in src/gpu/tuning.ts). */
export type ConvKernel =
  | { direct: DirectConvBlock; tiling?: undefined; weightLayout: ConvWeightLayout }
  | { tiling: ConvTiling; direct?: undefined; weightLayout: 'oihw' };

export function convKernelFor(variant: string, coutG: number): ConvKernel {
  switch (variant) {
    case 'direct': return { direct: chooseDirectBlock(coutG), weightLayout: 'oihw' };
    // Fewer loads per multiply-add than 'direct' (48 per 512 vs 24 per 128); on SwiftShader 64->64 at 112x112 it ran about 1.3x faster.
    case 'direct-16x32': return { direct: { rP: 16, rM: Math.min(coutG, 32) }, weightLayout: 'oihw' };
    // Forward convolution only (conv2dTranspose does not list it): weights read as [C/g, kH, kW, M]
    // (src/ops/conv2d.ts transposes them once and caches them). On SwiftShader 64->64 at 112x112 it ran
    // within the noise of 'direct-16x32' (faster in 3 of 4 profiles by the median); the tuner decides.
    case 'direct-wt-16x32': return { direct: { rP: 16, rM: Math.min(coutG, 32) }, weightLayout: 'ihwo' };
    case 'tiled': return { tiling: chooseTiling(coutG), weightLayout: 'oihw' };
    case 'tiled-32': return { tiling: smallTiling(coutG), weightLayout: 'oihw' };
    default: throw new Error(`conv kernel: unknown variant "${variant}"`);
  }
}
