// Incremental occlusion (as in Krypton, Nakandala et al., SIGMOD 2019), the
// plan: which part of each layer's output an occluder can change.
//
// An occluded copy of the image differs from the original only inside the
// occluder. A sliding-window layer (convolution, pooling) changes only the
// outputs whose windows touch the changed part of its input, so the changed
// part grows layer by layer into the occluder's receptive window; an
// element-wise layer keeps it; a layer that mixes all positions (flatten,
// dense, global pooling) changes everything. The plan computes, for every
// node and every occluder position, a window (a rectangle of the node's map)
// that holds every changed value: the same size for all positions (so a batch
// is one tensor), its origin clamped/shifted inside the map at the borders.
// Outside its window a copy's map equals the original's, so the incremental
// forward (incremental_forward.ts) computes each node only inside its window.
//
// Everything here is CPU arithmetic on shapes and positions; nothing touches
// the GPU.
import type { Model } from '../model/model.js';
import type { AnyLayer } from '../layers/layer.js';
import { Conv2D } from '../layers/conv2d.js';
import { MaxPool2D } from '../layers/maxpool2d.js';
import { AvgPool2D } from '../layers/avgpool2d.js';
import { Activation, PReLU } from '../layers/activation.js';
import { BatchNorm } from '../layers/batchnorm.js';
import { LRN } from '../layers/lrn.js';
import { Identity } from '../layers/identity.js';
import { Add } from '../layers/add.js';
import { Mul } from '../layers/mul.js';
import { Concat } from '../layers/concat.js';
import { effectiveKernel, pair, resolvePadding } from '../ops/conv_geometry.js';
import { poolGeometry } from '../ops/pool_geometry.js';
import { sameShape } from '../gpu/tensor.js';

/** The occluder's grid (see occlusionSensitivity): position p is row floor(p / cols), column p % cols. */
export interface OccluderGrid { size: number; stride: number; rows: number; cols: number }

/** A window per position: all of one size, copy p's top-left at (tops[p], lefts[p]) of the map. */
export interface PositionWindows { height: number; width: number; tops: Int32Array; lefts: Int32Array }

/** One axis of a sliding window: effective kernel span, stride, leading pad, output length. */
interface Axis { span: number; stride: number; pad: number; out: number }

/**
 * How the incremental forward computes one node:
 * - full: the ordinary layer on full maps (windows of its inputs pasted into copies of the originals);
 * - slide: the layer (padding 0) on crops of its input around the window (`padValue` outside the map);
 * - pointwise: the layer on its input's patch (same window);
 * - merge: the layer on crops of every input at the union of their windows.
 */
export type NodeStep =
  | { kind: 'full'; reason: string }
  | { kind: 'slide'; window: PositionWindows; crop: { height: number; width: number; tops: Int32Array; lefts: Int32Array }; padValue: number }
  | { kind: 'pointwise'; window: PositionWindows }
  | { kind: 'merge'; window: PositionWindows };

export interface IncrementalPlan {
  grid: OccluderGrid;
  /** The occluder's window on the model input. */
  input: PositionWindows;
  steps: NodeStep[];
}

/** The lowest finite f32: max pooling's padding (a window always holds a real value, so it never wins). */
export const LOWEST_F32 = -3.4028234663852886e38;

/** Windows at or above this share of the map are computed as full maps (a crop would save too little). */
export const FULL_SHARE = 1;

/** Where the incremental path cannot take a model: the reason, for the fallback to full recomputation. */
export function incrementalUnsupported(model: Model): string | null {
  if (model.inputs.length !== 1) return `the model has ${model.inputs.length} inputs`;
  if (model.inputShape.length !== 3) return `the model's input [${model.inputShape}] is not an image`;
  return null;
}

/**
 * The plan for `model` and the occluder grid, or a reason why nothing can
 * be computed incrementally (then occlusion recomputes every copy in full).
 */
export function planIncrementalOcclusion(model: Model, grid: OccluderGrid): IncrementalPlan | { fallback: string } {
  const unsupported = incrementalUnsupported(model);
  if (unsupported) return { fallback: unsupported };
  const positions = grid.rows * grid.cols;
  const input: PositionWindows = {
    height: grid.size, width: grid.size,
    tops: Int32Array.from({ length: positions }, (_, p) => Math.floor(p / grid.cols) * grid.stride),
    lefts: Int32Array.from({ length: positions }, (_, p) => (p % grid.cols) * grid.stride),
  };
  const windows: Array<PositionWindows | null> = [];
  const windowOf = (source: number) => (source < 0 ? input : windows[source]!);
  const steps = model.layers.map((layer, i) => {
    const inputs = model.sources[i]!.map(windowOf);
    const inShapes = model.sources[i]!.map((s) => (s < 0 ? model.inputShape : model.info[s]!.outputShape));
    const step = stepFor(layer, inputs, inShapes, model.info[i]!.outputShape);
    windows.push(step.kind === 'full' ? null : step.window);
    return step;
  });
  if (!steps.some((s) => s.kind === 'slide')) {
    const first = steps.find((s) => s.kind === 'full') as { reason: string } | undefined;
    return { fallback: `no layer can be computed in a window (${first?.reason ?? 'no sliding-window layer'})` };
  }
  return { grid, input, steps };
}

function stepFor(layer: AnyLayer, inputs: Array<PositionWindows | null>, inShapes: ReadonlyArray<readonly number[]>, outShape: readonly number[]): NodeStep {
  const full = (reason: string): NodeStep => ({ kind: 'full', reason: `${layer.name} (${layer.kind}): ${reason}` });
  if (inputs.some((w) => w === null)) return full('an input is a full map');
  if (outShape.length !== 3) return full(`its output [${outShape}] is not a map`);
  const wins = inputs as PositionWindows[];
  if (layer instanceof Conv2D || layer instanceof MaxPool2D || layer instanceof AvgPool2D) {
    const axes = slidingAxes(layer, inShapes[0]!);
    if (typeof axes === 'string') return full(axes);
    const padValue = layer instanceof MaxPool2D ? LOWEST_F32 : 0;
    return slideStep(wins[0]!, axes, padValue) ?? full('its window covers the map');
  }
  if (layer instanceof Activation || layer instanceof PReLU || layer instanceof BatchNorm || layer instanceof LRN || layer instanceof Identity) {
    return { kind: 'pointwise', window: wins[0]! };
  }
  if (layer instanceof Add || layer instanceof Mul || layer instanceof Concat) {
    const sameMaps = inShapes.every((s) => s.length === 3 && s[1] === outShape[1] && s[2] === outShape[2]);
    const channelJoin = layer instanceof Concat ? concatAxisIsChannels(layer.axis) : inShapes.every((s) => sameShape(s, outShape));
    if (!sameMaps || !channelJoin) return full('its inputs are not maps of its output\'s size joined channel-wise or element-wise');
    const window = unionWindow(wins, outShape[1]!, outShape[2]!);
    return window ? { kind: 'merge', window } : full('its window covers the map');
  }
  return full('not a sliding-window or element-wise layer');
}

function concatAxisIsChannels(axis: number): boolean {
  return axis === 0 || axis === -3;
}

/** The two axes of a convolution or pooling layer on an input [C, H, W], or why it cannot take a crop. */
function slidingAxes(layer: Conv2D | MaxPool2D | AvgPool2D, inShape: readonly number[]): [Axis, Axis] | string {
  const [, H, W] = inShape as [number, number, number];
  if (layer instanceof Conv2D) {
    const [, , kH, kW] = layer.kernelShape as [number, number, number, number];
    const stride = pair(layer.attrs.stride, 1), dilation = pair(layer.attrs.dilation, 1);
    const [top, left, bottom, right] = resolvePadding(layer.attrs.padding, H, W, kH, kW, stride, dilation);
    const spanH = effectiveKernel(kH, dilation[0]), spanW = effectiveKernel(kW, dilation[1]);
    return [
      { span: spanH, stride: stride[0], pad: top, out: Math.floor((H + top + bottom - spanH) / stride[0]) + 1 },
      { span: spanW, stride: stride[1], pad: left, out: Math.floor((W + left + right - spanW) / stride[1]) + 1 },
    ];
  }
  const g = poolGeometry([1, ...inShape], layer.attrs, layer.name);
  const spanH = effectiveKernel(g.kH, g.dH), spanW = effectiveKernel(g.kW, g.dW);
  if (layer instanceof AvgPool2D) {
    const padded = g.padTop + g.padLeft + g.padBottom + g.padRight > 0;
    // Windows past the padded input (ceil mode) divide by fewer taps even when padding counts.
    const overhang = (g.outH - 1) * g.sH + spanH > H + g.padTop + g.padBottom || (g.outW - 1) * g.sW + spanW > W + g.padLeft + g.padRight;
    if ((padded && !layer.attrs.countIncludePad) || overhang) return 'its divisor counts only the taps inside the map';
  }
  return [
    { span: spanH, stride: g.sH, pad: g.padTop, out: g.outH },
    { span: spanW, stride: g.sW, pad: g.padLeft, out: g.outW },
  ];
}

/** Outputs lo..hi (clamped to the map) whose windows touch input positions a..b. */
function touched(a: number, b: number, axis: Axis): [number, number] {
  const lo = Math.max(0, Math.ceil((a + axis.pad - axis.span + 1) / axis.stride));
  const hi = Math.min(axis.out - 1, Math.floor((b + axis.pad) / axis.stride));
  return hi < lo ? [Math.min(lo, axis.out - 1), Math.min(lo, axis.out - 1)] : [lo, hi];
}

/**
 * One static size for all positions (the largest box any position needs),
 * each box's origin shifted back inside the map where it would overrun.
 */
function staticWindow(boxes: Array<[number, number, number, number]>, mapH: number, mapW: number): PositionWindows | null {
  // A loop, not Math.max(...): a fine grid has more positions than a call takes arguments.
  let height = 1, width = 1;
  for (const b of boxes) {
    height = Math.max(height, b[1] - b[0] + 1);
    width = Math.max(width, b[3] - b[2] + 1);
  }
  if (height * width >= FULL_SHARE * mapH * mapW) return null;
  return {
    height, width,
    tops: Int32Array.from(boxes, (b) => Math.min(b[0], mapH - height)),
    lefts: Int32Array.from(boxes, (b) => Math.min(b[2], mapW - width)),
  };
}

function slideStep(input: PositionWindows, [ah, aw]: [Axis, Axis], padValue: number): NodeStep | null {
  const boxes = Array.from(input.tops, (top, p): [number, number, number, number] => {
    const left = input.lefts[p]!;
    return [...touched(top, top + input.height - 1, ah), ...touched(left, left + input.width - 1, aw)];
  });
  const window = staticWindow(boxes, ah.out, aw.out);
  if (!window) return null;
  const crop = {
    height: (window.height - 1) * ah.stride + ah.span,
    width: (window.width - 1) * aw.stride + aw.span,
    tops: window.tops.map((t) => t * ah.stride - ah.pad),
    lefts: window.lefts.map((l) => l * aw.stride - aw.pad),
  };
  return { kind: 'slide', window, crop, padValue };
}

function unionWindow(inputs: PositionWindows[], mapH: number, mapW: number): PositionWindows | null {
  const boxes = Array.from(inputs[0]!.tops, (_, p): [number, number, number, number] => [
    Math.min(...inputs.map((w) => w.tops[p]!)), Math.max(...inputs.map((w) => w.tops[p]! + w.height - 1)),
    Math.min(...inputs.map((w) => w.lefts[p]!)), Math.max(...inputs.map((w) => w.lefts[p]! + w.width - 1)),
  ]);
  return staticWindow(boxes, mapH, mapW);
}
