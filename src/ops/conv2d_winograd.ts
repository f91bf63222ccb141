// 3x3 stride-1 convolution by Winograd minimal filtering (shaders/winograd.ts):
// weight transform, input transform, a^2 matrix products on the direct
// convolution kernel (a grouped 1x1 convolution), output transform with the
// bias and ReLU. Used by conv2d's 'winograd-2x2' / 'winograd-4x4' variants
// and, with the weight read flipped, by conv2dTranspose's (stride 1: a
// transposed convolution is then the forward one with the filter flipped and
// its channel axes swapped).
import {
  winogradAlpha, winogradInputProgram, winogradOutputProgram, winogradWeightProgram, type WinogradTile,
} from '../../shaders/winograd.js';
import {
  conv2dDirectProgram, conv2dVec4Program, convShapeKey, type ConvProblem, type DirectConvBlock,
} from '../../shaders/conv2d.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Tensor } from '../gpu/tensor.js';
import { UnsupportedError } from '../gpu/errors.js';
import { derivedTensor } from '../gpu/derived.js';

export type { WinogradTile };

/** The tile of a 'winograd-MxM' variant name, or null for other variants. */
export function winogradTileOf(variant: string): WinogradTile | null {
  if (variant === 'winograd-2x2') return 2;
  if (variant === 'winograd-4x4') return 4;
  return null;
}

function tilesOf(problem: ConvProblem, tile: WinogradTile) {
  const tilesH = Math.ceil(problem.outH / tile), tilesW = Math.ceil(problem.outW / tile);
  return { tilesH, tilesW, tiles: tilesH * tilesW };
}

/**
 * Whether Winograd computes this forward-convolution problem: a 3x3 kernel,
 * stride and dilation 1, one group, and transformed tensors that each fit one
 * binding (they are a^2 / m^2 times the input and output: 4x for F(2x2),
 * 2.25x for F(4x4)).
 */
export function winogradSupports(problem: ConvProblem, tile: WinogradTile, maxBindingSize: number): boolean {
  const shapeOk = problem.kH === 3 && problem.kW === 3 && problem.stride[0] === 1 && problem.stride[1] === 1
    && problem.dilation[0] === 1 && problem.dilation[1] === 1 && problem.groups === 1;
  if (!shapeOk) return false;
  const a2 = winogradAlpha(tile) ** 2;
  const { tiles } = tilesOf(problem, tile);
  const biggest = problem.batch * a2 * Math.max(problem.inC, problem.outC) * tiles * 4;
  const weights = a2 * problem.inC * problem.outC * 4;
  return biggest <= maxBindingSize && weights <= maxBindingSize;
}

/**
 * For runtime.kernelVariant: whether a variant computes this forward-convolution
 * problem (the Winograd ones only where winogradSupports; every other variant always).
 */
export function convVariantSupports(problem: ConvProblem, maxBindingSize: number): (variant: string) => boolean {
  return (variant) => {
    const tile = winogradTileOf(variant);
    return tile === null || winogradSupports(problem, tile, maxBindingSize);
  };
}

/**
 * The matrix products' register block on CPU adapters: 16 tiles x 32
 * channels, the block of the 'direct-16x32' forward kernel (R_M = all
 * channels below 32; R_P = all tiles below 16). On SwiftShader (64 -> 64 at 112x112, F(4x4)) 32x32 and
 * 32x16 ran within 4% of it, 8x64 20% slower.
 */
function gemmBlock(outC: number, tiles: number): DirectConvBlock {
  // Maps of fewer than 16 tiles (7x7 and smaller) take a block of exactly their tiles instead of computing clamped copies.
  return { rP: Math.min(16, tiles), rM: Math.min(outC, 32) };
}

/**
 * Records y = conv(x, w) + bias (ReLU) for a problem winogradSupports accepts.
 * `weightLayout` 'forward': w is [M, C, 3, 3]; 'transposed': w is a transposed
 * convolution's [C, M, 3, 3], applied flipped (problem is then the equivalent
 * forward convolution, pads k - 1 - pad).
 */
export function recordWinogradConv(
  rec: Recorder, x: Tensor, weight: Tensor, bias: Tensor | null, problem: ConvProblem, relu: boolean,
  tile: WinogradTile, weightLayout: 'forward' | 'transposed',
): Tensor {
  if (!winogradSupports(problem, tile, rec.runtime.maxBindingSize)) {
    throw new UnsupportedError(`conv2d winograd-${tile}x${tile}: ${convShapeKey(problem)} is not a one-group 3x3 stride-1 convolution whose transforms fit one binding`);
  }
  const a = winogradAlpha(tile), a2 = a * a;
  const { batch: n, inC: c, outC: m } = problem;
  const { tilesW, tiles } = tilesOf(problem, tile);

  // U [C, a^2 M]: the GEMM's 'ihwo' weight (group xi's channels are xi*M .. xi*M + M - 1),
  // transformed once and cached with the weight until it changes (src/gpu/derived.ts).
  const u = derivedTensor(rec, weight, `winograd-${tile}:${weightLayout}`, (r) => {
    const transformed = r.tensor([c, 1, 1, a2 * m], 'winograd weights');
    const transposed = weightLayout === 'transposed' ? 1 : 0;
    r.dispatch({ ...winogradWeightProgram(tile, { outC: m, inC: c, transposed, total: m * c }), buffers: [weight, transformed] });
    return transformed;
  });

  // V [N, a^2 C, 1, T].
  const v = rec.temp(rec.tensor([n, a2 * c, 1, tiles], 'winograd input'));
  const inputValues = { inC: c, inH: problem.inH, inW: problem.inW, tilesW, tiles, padT: problem.padT, padL: problem.padL, total: n * c * tiles };
  rec.dispatch({ ...winogradInputProgram(tile, inputValues), buffers: [x, v] });

  // M [N, a^2 M, 1, T] = the a^2 products, as one grouped 1x1 convolution.
  const gemm: ConvProblem = {
    batch: n, groups: a2, inC: a2 * c, inH: 1, inW: tiles, outC: a2 * m, outH: 1, outW: tiles,
    kH: 1, kW: 1, stride: [1, 1], dilation: [1, 1], padT: 0, padL: 0, cinG: c,
  };
  // On the kernel family of the adapter: register blocks for CPU adapters, workgroup tiles with vec4
  // loads for GPUs (both read U as their [C/g, kH, kW, M] weight).
  const products = rec.temp(rec.tensor([n, a2 * m, 1, tiles], 'winograd products'));
  const linear = { bias: false, relu: false };
  const gemmProgram = rec.runtime.kernelStyle === 'tiled'
    ? conv2dVec4Program(gemm, linear, 'winograd products')
    : conv2dDirectProgram(gemm, linear, gemmBlock(m, tiles), 'ihwo', 'winograd products');
  rec.dispatch({ ...gemmProgram, buffers: [v, u, products] });

  const y = rec.tensor([n, m, problem.outH, problem.outW], 'conv2d');
  const outputValues = { outC: m, outH: problem.outH, outW: problem.outW, tilesW, tiles, total: n * m * tiles };
  rec.dispatch({ ...winogradOutputProgram({ tile, bias: bias !== null, relu }, outputValues), buffers: bias ? [products, y, bias] : [products, y] });
  return y;
}
