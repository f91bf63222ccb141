// Sparse projection. A projection that starts from one activation per image
// (position 'max' or given positions) only reaches, at each layer below, the
// window that the receptive field of that activation covers. Its size is
// static per layer and its origin follows from the seed (see
// src/ops/window.ts), so each backward step can run on the window alone: the
// transposed convolution of a window is a plain 'valid' one (the windows are
// not clamped to the maps, so no origin enters it), the ReLU rule and the
// unpooling read the forward's full tensors at the window's place.
//
// The walk goes down the chain from the projected layer while each node has
// one input and a window rule (Conv2D, MaxPool2D, ReLU, Identity) and while
// the window stays smaller than the map; there the window is put into a full
// zero map and the dense walk takes over (merges, LRN, dense layers, windows
// that grew to the map's size).
import type { ForwardResult } from '../model/model.js';
import type { AnyLayer, ProjectionMode } from '../layers/layer.js';
import { Conv2D } from '../layers/conv2d.js';
import { MaxPool2D } from '../layers/maxpool2d.js';
import { Activation } from '../layers/activation.js';
import { Identity } from '../layers/identity.js';
import { conv2dTranspose } from '../ops/conv2d_transpose.js';
import { pair, resolvePadding } from '../ops/conv_geometry.js';
import { poolGeometry } from '../ops/pool_geometry.js';
import {
  SEED_LEVEL, cropWindow, inputWindow, placeWindow, rectifyWindow, unpoolWindow, windowAlwaysInside,
  transposeWindow, type SeedGrid, type WindowLevel, type WindowRule, type WindowUnpool,
} from '../ops/window.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Tensor } from '../gpu/tensor.js';

/** The key of the first model input in model.sources. */
const PIXELS = -1;

/**
 * A signal on a window of a level; `masked` when its positions outside the
 * map are known to be 0. Steps not taken yet, which the next filter step takes
 * in its loads (transposeWindow) and any other step takes first (one pass,
 * `settled`): `unpool`, the unpooling of `t`, which then holds a window of the
 * pooled map (`unpool.level`) rather than of `level`; `pending`, a ReLU rule
 * on the (unpooled) signal.
 */
interface WindowSignal {
  t: Tensor; level: WindowLevel; masked: boolean;
  unpool?: WindowUnpool & { xShape: readonly number[] };
  pending?: { rule: WindowRule; y: Tensor };
}

/**
 * Windows whose filter step has at most this many multiply-adds run the
 * fused one-pass kernel (transposeWindow); larger ones the tuned transposed
 * convolution (conv2dTranspose), after the rule's own pass where one is due.
 */
const FUSED_MAX_MACS = 1 << 22;

/** `g` with its unpooling and its pending ReLU rule applied (one pass), or `g` itself. */
function settled(rec: Recorder, g: WindowSignal, seed: SeedGrid): WindowSignal {
  const { unpool, pending } = g;
  if (unpool) {
    return { t: rec.temp(unpoolWindow(rec, g.t, unpool.switches, unpool.xShape, unpool.attrs, g.level, unpool.level, seed, pending)), level: g.level, masked: true };
  }
  if (!pending) return g;
  return { t: rec.temp(rectifyWindow(rec, g.t, pending.y, g.level, seed, pending.rule)), level: g.level, masked: true };
}

/** One planned window step: node `node` takes its output window `out` back to its input window `in`. */
interface WindowStep {
  node: number;
  out: WindowLevel;
  in: WindowLevel;
  run(rec: Recorder, g: WindowSignal, fwd: ForwardResult, seed: SeedGrid, mode: ProjectionMode): WindowSignal;
}

/** Where the sparse walk hands over: the node whose output gets the placed window (PIXELS: the projection itself). */
export interface SparsePlan { steps: WindowStep[]; handOver: number; level: WindowLevel }

export interface SparseOptions {
  /**
   * true: a filter step below a max pooling unpools in its loads (one pass
   * for unpool + rule + filter); false: the unpooling runs its own pass before
   * it. Either way an unpooling that no filter step takes runs in one pass
   * with the ReLU rule below it, and the values are the same.
   * Default: true on GPU adapters, false on CPU adapters (kernelStyle
   * 'direct'), where each load's switch test cost more than the pass it saves
   * (SwiftShader, Tiny VGG: 1.8x the GPU time; docs/fusion.md).
   */
  fuseUnpool?: boolean;
}

/**
 * The window steps from node `top` down, or null when not even the first
 * one pays (a flat or unsupported top layer, a window as large as its map).
 */
export function planSparse(fwd: ForwardResult, top: number, options: SparseOptions = {}): SparsePlan | null {
  const model = fwd.model;
  const topShape = fwd.activations[top]!.shape;
  if (topShape.length !== 4) return null;
  const [topH, topW] = [topShape[2]!, topShape[3]!];
  const steps: WindowStep[] = [];
  const fuseUnpool = options.fuseUnpool ?? model.runtime.kernelStyle !== 'direct';
  let node = top;
  let level = SEED_LEVEL;
  for (;;) {
    const sources = model.sources[node]!;
    const input = fwd.inputsOf(node)[0];
    if (sources.length !== 1 || !input || input.shape.length !== 4) break;
    const [h, w] = [input.shape[2]!, input.shape[3]!];
    const step = windowStep(model.layers[node]!, node, level, input.shape, topH, topW, fuseUnpool);
    if (!step || step.in.size[0] * step.in.size[1] >= h * w) break;
    steps.push(step);
    level = step.in;
    node = sources[0]!;
    if (node === PIXELS) break;
    if (node < 0) return null;
  }
  return steps.length === 0 ? null : { steps, handOver: node, level };
}

/**
 * Records the planned window steps from the seed, then puts the last window
 * into a zero map of its level: the signal for node `plan.handOver`'s output
 * (or the pixels), to be continued densely.
 */
export function runSparse(rec: Recorder, fwd: ForwardResult, plan: SparsePlan, seedMap: Tensor, seed: SeedGrid, mode: ProjectionMode): Tensor {
  let g: WindowSignal = { t: rec.temp(cropWindow(rec, seedMap, SEED_LEVEL, seed)), level: SEED_LEVEL, masked: true };
  for (const step of plan.steps) g = step.run(rec, g, fwd, seed, mode);
  g = settled(rec, g, seed);
  const fullShape = plan.handOver === PIXELS ? fwd.inputsOf(plan.steps.at(-1)!.node)[0]!.shape : fwd.activations[plan.handOver]!.shape;
  return placeWindow(rec, g.t, g.level, fullShape, seed);
}

/** Multiply-adds of the filter step into window `level`: per output, the filters of its group over the taps one stride phase hits. */
function windowMacs(layer: Conv2D, batch: number, level: WindowLevel, stride: [number, number]): number {
  const [m, cPerGroup, kH, kW] = layer.kernelShape as [number, number, number, number];
  const groups = layer.attrs.groups ?? 1;
  return batch * cPerGroup * groups * level.size[0] * level.size[1] * (m / groups) * Math.ceil(kH / stride[0]) * Math.ceil(kW / stride[1]);
}

/** The window rule of one layer, or null when it has none. */
function windowStep(
  layer: AnyLayer, node: number, out: WindowLevel, inShape: readonly number[], topH: number, topW: number, fuseUnpool: boolean,
): WindowStep | null {
  const [h, w] = [inShape[2]!, inShape[3]!];
  if (layer instanceof Identity) {
    return { node, out, in: out, run: (_rec, g) => g };
  }
  if (layer instanceof Activation && layer.attrs.kind === 'relu') {
    return {
      node, out, in: out,
      // The rule waits for the next step (one rule at a time: a waiting one is applied first); an unpooling may wait with it.
      run: (rec, g, fwd, seed, mode) => ({ ...(g.pending ? settled(rec, g, seed) : g), pending: { rule: mode, y: fwd.activations[node]! } }),
    };
  }
  if (layer instanceof MaxPool2D) {
    const geo = poolGeometry(inShape, layer.attrs, layer.name);
    const inLevel = inputWindow(out, [geo.kH, geo.kW], [geo.sH, geo.sW], [geo.dH, geo.dW], [geo.padTop, geo.padLeft]);
    return {
      node, out, in: inLevel,
      // The unpooling waits for the step below: a filter step takes it in its loads, any other with its rule.
      run: (rec, g, fwd, seed) => ({
        t: settled(rec, g, seed).t, level: inLevel, masked: true,
        unpool: { switches: fwd.switches[node]!, attrs: layer.attrs, level: out, xShape: inShape },
      }),
    };
  }
  if (layer instanceof Conv2D) {
    const [, , kH, kW] = layer.kernelShape as [number, number, number, number];
    const stride = pair(layer.attrs.stride, 1), dilation = pair(layer.attrs.dilation, 1);
    const [padT, padL] = resolvePadding(layer.attrs.padding, h, w, kH, kW, stride, dilation);
    const inLevel = inputWindow(out, [kH, kW], stride, dilation, [padT, padL]);
    const inside = windowAlwaysInside(inLevel, topH, topW, h, w);
    return {
      node, out, in: inLevel,
      run: (rec, g, fwd, seed, mode) => {
        // The rule to apply to the loaded signal: the conv's fused ReLU, a ReLU layer's
        // pending one, or at least the mask where the window sticks out of the map.
        // A waiting unpooling stays: the loads unpool first.
        const fused = layer.attrs.activation === 'relu';
        let signal = fused && g.pending ? settled(rec, g, seed) : g;
        // Not fusing the unpooling into the loads: its own pass, the rule still in the loads.
        if (signal.unpool && !fuseUnpool) signal = { ...settled(rec, { ...signal, pending: undefined }, seed), pending: signal.pending };
        const rule: WindowRule | null = fused ? mode : signal.pending?.rule ?? (signal.masked ? null : 'mask');
        const y = fused ? fwd.activations[node]! : signal.pending?.y ?? fwd.activations[node]!;
        const conv = { weight: layer.kernel, stride, dilation, groups: layer.attrs.groups ?? 1 };
        // Small windows: one pass, never the multi-pass variants (Winograd) the chooser may pick for the shape.
        if (windowMacs(layer, signal.t.shape[0]!, inLevel, stride) <= FUSED_MAX_MACS) {
          return { t: rec.temp(transposeWindow(rec, signal.t, y, out, seed, rule ?? 'mask', conv, signal.unpool)), level: inLevel, masked: inside };
        }
        // Larger ones: the unpooling and the rule in one pass, then the tuned transposed convolution.
        const loaded = settled(rec, { ...signal, pending: rule ? { rule, y } : undefined }, seed).t;
        const t = conv2dTranspose(rec, loaded, layer.kernel, null, { stride, dilation, groups: conv.groups });
        return { t: rec.temp(t), level: inLevel, masked: inside };
      },
    };
  }
  return null;
}
