import {
  DIRECT_WORKGROUP, chooseWeightGradDirectBlock, weightGradDirectParams, weightGradDirectProgram, type WeightGradDirectBlock,
  chooseWeightGradTiling, weightGradParams, weightGradReduceProgram, weightGradTiledProgram, type WeightGradTiling,
} from '../../shaders/conv2d_weight_grad.js';
import { dispatch1d, type Recorder } from '../gpu/recorder.js';
import type { Tensor } from '../gpu/tensor.js';
import { sameShape } from '../gpu/tensor.js';
import { ShapeError } from '../gpu/errors.js';
import { conv2dOutputShape, type Conv2dAttrs } from './conv2d.js';
import { pair, resolvePadding } from './conv_geometry.js';
import { convGeometry, type ConvProblem } from '../../shaders/conv2d.js';

/** One weight-gradient problem in GEMM terms (all groups, all images): the forward convolution's geometry. */
export type WeightGradProblem = Omit<ConvProblem, 'cinG'>;

export interface WeightGradPlanOptions {
  /** Workgroups to aim for before splitting K further stops paying (default 512: a few per SM of a large GPU). */
  targetWorkgroups?: number;
  /** Shortest reduction range per chunk (default 512, rounded up to the tile depth): each chunk must amortise its partial tile. */
  minChunk?: number;
  /** Cap on the partial-sum buffer (default 32 MiB, and never over the binding limit). */
  maxPartialBytes?: number;
}

export interface WeightGradPlan {
  tiling: WeightGradTiling;
  chunks: number;
  chunkLen: number;
  /** Workgroups of the main pass. */
  workgroups: number;
  params: ArrayBuffer;
  dispatch: [number, number, number];
}

/**
 * Tiling and split-K of one launch. K is split only as far as it takes to
 * reach `targetWorkgroups`: a large weight matrix already has enough tiles, a
 * depthwise 3x3 (1 x 9 per group) with a long reduction gets many chunks.
 */
export function planWeightGrad(pr: WeightGradProblem, options: WeightGradPlanOptions = {}): WeightGradPlan {
  const coutG = pr.outC / pr.groups;
  const cinG = pr.inC / pr.groups;
  const kCols = cinG * pr.kH * pr.kW;
  const tiling = chooseWeightGradTiling(coutG, kCols);
  const mTiles = Math.ceil(coutG / (tiling.wgM * tiling.rM));
  const cTiles = Math.ceil(kCols / (tiling.wgC * tiling.rC));
  const pixels = pr.outH * pr.outW;
  const reduce = pr.batch * pixels;
  const total = pr.outC * kCols;
  const tiles = pr.groups * mTiles * cTiles;
  const minChunk = Math.ceil((options.minChunk ?? 512) / tiling.tk) * tiling.tk;
  const partialCap = Math.floor((options.maxPartialBytes ?? 32 * 2 ** 20) / (total * 4));
  const wanted = Math.ceil((options.targetWorkgroups ?? 512) / tiles);
  let chunks = Math.max(1, Math.min(wanted, Math.ceil(reduce / minChunk), partialCap));
  // Whole slabs per chunk; recount so no chunk is empty.
  const chunkLen = Math.ceil(Math.ceil(reduce / chunks) / tiling.tk) * tiling.tk;
  chunks = Math.ceil(reduce / chunkLen);
  const workgroups = tiles * chunks;
  const params = weightGradParams.pack({
    ...convGeometry(pr, cinG, coutG),
    kCols, pixels, reduce, chunkLen, chunks, mTiles, cTiles, workgroups, total,
  });
  return { tiling, chunks, chunkLen, workgroups, params, dispatch: dispatch1d(workgroups, 1) };
}

export interface WeightGradDirectPlanOptions {
  /** Invocations to aim for before splitting the rows further stops paying (default 1024: 16 workgroups of 64). */
  targetInvocations?: number;
  /** Fewest output pixels per chunk (default 256, rounded up to whole rows). */
  minChunkPixels?: number;
  /** Cap on the partial-sum buffer (default 32 MiB). */
  maxPartialBytes?: number;
  block?: WeightGradDirectBlock;
}

export interface WeightGradDirectPlan {
  block: WeightGradDirectBlock;
  chunks: number;
  rowsPerChunk: number;
  invocations: number;
  params: ArrayBuffer;
  dispatch: [number, number, number];
}

/** The 'direct' variant's blocking and split of the reduction rows (see shaders/conv2d_weight_grad.ts). */
export function planWeightGradDirect(pr: WeightGradProblem, options: WeightGradDirectPlanOptions = {}): WeightGradDirectPlan {
  const coutG = pr.outC / pr.groups;
  const cinG = pr.inC / pr.groups;
  const taps = pr.kH * pr.kW;
  const kCols = cinG * taps;
  const block = options.block ?? chooseWeightGradDirectBlock(coutG, taps);
  const mBlocks = Math.ceil(coutG / block.rM);
  const tapBlocks = Math.ceil(taps / block.rT);
  const units = pr.groups * cinG * mBlocks * tapBlocks;
  const rows = pr.batch * pr.outH;
  const total = pr.outC * kCols;
  const minRows = Math.max(1, Math.ceil((options.minChunkPixels ?? 256) / pr.outW));
  const partialCap = Math.max(1, Math.floor((options.maxPartialBytes ?? 32 * 2 ** 20) / (total * 4)));
  const wanted = Math.ceil((options.targetInvocations ?? 1024) / units);
  let chunks = Math.max(1, Math.min(wanted, Math.ceil(rows / minRows), partialCap));
  const rowsPerChunk = Math.ceil(rows / chunks);
  chunks = Math.ceil(rows / rowsPerChunk);
  const invocations = units * chunks;
  const params = weightGradDirectParams.pack({
    ...convGeometry(pr, cinG, coutG),
    kCols, rows, rowsPerChunk, mBlocks, tapBlocks, invocations, total,
  });
  return { block, chunks, rowsPerChunk, invocations, params, dispatch: dispatch1d(invocations, DIRECT_WORKGROUP) };
}

/**
 * dL/dW of `conv2d(x, W)` given g = dL/dy: [M, C/groups, KH, KW], summed over
 * the batch. Same attributes as conv2d (stride, padding incl. 'same', dilation,
 * groups); `activation` is ignored (the ReLU has its own backward rule, apply
 * it to g first). One pass, or two when K = N*OH*OW is split across
 * workgroups (the second sums the chunks in a fixed order: deterministic).
 */
export function conv2dBackwardWeight(
  rec: Recorder, x: Tensor, g: Tensor, weightShape: readonly number[], attrs: Conv2dAttrs = {},
): Tensor {
  return conv2dBackwardWeightPlanned(rec, x, g, weightShape, attrs, {});
}

/** As conv2dBackwardWeight, with the split-K policy exposed (tests, tuning). */
export function conv2dBackwardWeightPlanned(
  rec: Recorder, x: Tensor, g: Tensor, weightShape: readonly number[], attrs: Conv2dAttrs, planOptions: WeightGradPlanOptions,
): Tensor {
  for (const [name, t] of [['input', x], ['output gradient', g]] as const) {
    if (t.dtype !== 'f32') throw new ShapeError(`conv2d weight gradient: ${name} [${t.shape}] must be f32, got ${t.dtype}`);
  }
  // Validates ranks, channels, groups, stride/dilation/padding and that the kernel fits.
  const yShape = conv2dOutputShape(x.shape, weightShape, attrs);
  if (!sameShape(g.shape, yShape)) {
    throw new ShapeError(
      `conv2d weight gradient: output gradient [${g.shape}] is not the conv2d output [${yShape}] of input [${x.shape}] and weight [${weightShape}]`);
  }
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [m, , kH, kW] = weightShape as [number, number, number, number];
  const stride = pair(attrs.stride, 1), dilation = pair(attrs.dilation, 1);
  const pads = resolvePadding(attrs.padding, h, w, kH, kW, stride, dilation);
  const problem: WeightGradProblem = {
    batch: n, groups: attrs.groups ?? 1, inC: c, inH: h, inW: w,
    outC: m, outH: yShape[2]!, outW: yShape[3]!, kH, kW, stride, dilation, padT: pads[0], padL: pads[1],
  };
  const maxPartialBytes = Math.min(planOptions.maxPartialBytes ?? 32 * 2 ** 20, rec.runtime.maxBindingSize);
  // The runtime's kernel style picks the family: shared-memory tiles on GPUs, register blocks on CPU adapters.
  const plan = rec.runtime.kernelStyle === 'direct'
    ? planWeightGradDirect(problem, { maxPartialBytes })
    : planWeightGrad(problem, { ...planOptions, maxPartialBytes });
  const split = plan.chunks > 1;
  const label = `conv2d weight gradient${split ? ` (${plan.chunks} chunks)` : ''}`;
  const main = 'block' in plan ? weightGradDirectProgram(plan, label) : weightGradTiledProgram(plan, label);

  const dw = rec.tensor(weightShape, 'conv2d weight gradient');
  try {
    const target = split ? rec.temp(rec.tensor([plan.chunks, dw.size], 'conv2d weight gradient partials')) : dw;
    rec.dispatch({ ...main, buffers: [x, g, target] });
    if (split) {
      rec.dispatch({
        ...weightGradReduceProgram({ total: dw.size, chunks: plan.chunks }, 'conv2d weight gradient: sum of chunks'),
        buffers: [target, dw],
      });
    }
  } catch (e) {
    dw.release();
    throw e;
  }
  return dw;
}
