// A convolution and the 2x2 / stride 2 max pooling that reads it, as one
// pass: the GEMM core's epilogue pools the (biased, rectified) output tile in
// registers and writes the conv's output, the pooled output and the switches
// (src/ops/gemm.ts, recordConvGemm's `pool`). The conv's output is still
// written: the DeconvNet's ReLU rule and training read it.
import type { Recorder } from '../gpu/recorder.js';
import type { Tensor } from '../gpu/tensor.js';
import { chosenConv2dVariant, conv2dProblem, type Conv2dAttrs } from './conv2d.js';
import { GEMM_CONV_VARIANTS, convGemmCanPool, gemmPlan, recordConvGemm } from './gemm.js';
import { poolGeometry, type Pool2dAttrs } from './pool_geometry.js';

/** What conv2dMaxPool records: the conv's output and the pooling's output and switches (u32, as maxPool2d's). */
export interface ConvPooled {
  output: Tensor;
  pooled: { output: Tensor; switches: Tensor };
}

/** Whether max pooling with `attrs` on a map `shape` [N, C, H, W] is the epilogue's: 2x2 windows, stride 2, no padding, no dilation, the whole map covered. */
export function isEpiloguePool(shape: readonly number[], attrs: Pool2dAttrs): boolean {
  const [h, w] = [shape[2]!, shape[3]!];
  const g = poolGeometry(shape, attrs, 'conv2dMaxPool');
  return g.kH === 2 && g.kW === 2 && g.sH === 2 && g.sW === 2 && g.dH === 1 && g.dW === 1
    && g.padTop === 0 && g.padLeft === 0 && g.padBottom === 0 && g.padRight === 0
    && g.outH * 2 === h && g.outW * 2 === w;
}

/**
 * conv2d(x, weight, bias, attrs) then maxPool2d(., pool) recorded as one pass,
 * where that pass is the one the convolution would run anyway: the runtime
 * chooses a GEMM core variant for the conv ('gemm128-conv', by tuning or a
 * pin), its output is even (convGemmCanPool), the pooling is 2x2 / stride 2
 * unpadded (isEpiloguePool), and the GEMM would run unsplit (the fused
 * epilogue pools in registers, so it cannot split K; where the plan splits K
 * for more workgroups, the separate passes keep that parallelism). Otherwise
 * null, having recorded nothing: the caller records the two ops apart.
 */
export function conv2dMaxPool(rec: Recorder, x: Tensor, weight: Tensor, bias: Tensor | null, attrs: Conv2dAttrs, pool: Pool2dAttrs): ConvPooled | null {
  const { problem, relu } = conv2dProblem(x, weight, bias, attrs);
  const outShape = [problem.batch, problem.outC, problem.outH, problem.outW];
  if (!convGemmCanPool(problem) || !isEpiloguePool(outShape, pool)) return null;
  const gemm = GEMM_CONV_VARIANTS[chosenConv2dVariant(rec, x, weight, bias, problem, relu)];
  if (!gemm) return null;
  const dims = { M: problem.outC / problem.groups, N: problem.batch * problem.outH * problem.outW, K: problem.cinG * problem.kH * problem.kW, groups: problem.groups };
  if (gemmPlan(gemm.tile, dims, { splitK: gemm.splitK, maxPartialBytes: rec.runtime.maxBindingSize }).slices > 1) return null;
  const { y, pooled } = recordConvGemm(rec, x, weight, bias, problem, relu, gemm, { pool: true });
  return { output: y, pooled: pooled! };
}
