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
  type SeedGrid, type WindowLevel,
} from '../ops/window.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Tensor } from '../gpu/tensor.js';

/** The key of the first model input in model.sources. */
const PIXELS = -1;

/** A signal on a window of a level; `masked` when its positions outside the map are known to be 0. */
interface WindowSignal { t: Tensor; level: WindowLevel; masked: boolean }

/** One planned window step: node `node` takes its output window `out` back to its input window `in`. */
interface WindowStep {
  node: number;
  out: WindowLevel;
  in: WindowLevel;
  run(rec: Recorder, g: WindowSignal, fwd: ForwardResult, seed: SeedGrid, mode: ProjectionMode): WindowSignal;
}

/** Where the sparse walk hands over: the node whose output gets the placed window (PIXELS: the projection itself). */
export interface SparsePlan { steps: WindowStep[]; handOver: number; level: WindowLevel }

/**
 * The window steps from node `top` down, or null when not even the first
 * one pays (a flat or unsupported top layer, a window as large as its map).
 */
export function planSparse(fwd: ForwardResult, top: number): SparsePlan | null {
  const model = fwd.model;
  const topShape = fwd.activations[top]!.shape;
  if (topShape.length !== 4) return null;
  const [topH, topW] = [topShape[2]!, topShape[3]!];
  const steps: WindowStep[] = [];
  let node = top;
  let level = SEED_LEVEL;
  for (;;) {
    const sources = model.sources[node]!;
    const input = fwd.inputsOf(node)[0];
    if (sources.length !== 1 || !input || input.shape.length !== 4) break;
    const [h, w] = [input.shape[2]!, input.shape[3]!];
    const step = windowStep(model.layers[node]!, node, level, input.shape, topH, topW);
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
  const fullShape = plan.handOver === PIXELS ? fwd.inputsOf(plan.steps.at(-1)!.node)[0]!.shape : fwd.activations[plan.handOver]!.shape;
  return placeWindow(rec, g.t, g.level, fullShape, seed);
}

/** The window rule of one layer, or null when it has none. */
function windowStep(layer: AnyLayer, node: number, out: WindowLevel, inShape: readonly number[], topH: number, topW: number): WindowStep | null {
  const [h, w] = [inShape[2]!, inShape[3]!];
  if (layer instanceof Identity) {
    return { node, out, in: out, run: (_rec, g) => g };
  }
  if (layer instanceof Activation && layer.attrs.kind === 'relu') {
    return {
      node, out, in: out,
      run: (rec, g, fwd, seed, mode) => ({ t: rec.temp(rectifyWindow(rec, g.t, fwd.activations[node]!, out, seed, mode)), level: out, masked: true }),
    };
  }
  if (layer instanceof MaxPool2D) {
    const geo = poolGeometry(inShape, layer.attrs, layer.name);
    const inLevel = inputWindow(out, [geo.kH, geo.kW], [geo.sH, geo.sW], [geo.dH, geo.dW], [geo.padTop, geo.padLeft]);
    return {
      node, out, in: inLevel,
      run: (rec, g, fwd, seed) => ({
        t: rec.temp(unpoolWindow(rec, g.t, fwd.switches[node]!, inShape, layer.attrs, inLevel, out, seed)), level: inLevel, masked: true,
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
        // The ReLU rule of a fused ReLU; without one, a window that sticks out of the map is zeroed there first.
        const fused = layer.attrs.activation === 'relu';
        const rule = fused ? mode : g.masked ? null : 'mask';
        const signal = rule ? rec.temp(rectifyWindow(rec, g.t, fwd.activations[node]!, out, seed, rule)) : g.t;
        const t = conv2dTranspose(rec, signal, layer.kernel, null, { stride, dilation, groups: layer.attrs.groups ?? 1 });
        return { t: rec.temp(t), level: inLevel, masked: inside };
      },
    };
  }
  return null;
}
