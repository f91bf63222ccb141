// Incremental occlusion, the forward pass of one batch of occluder
// positions (see incremental_plan.ts for the windows). The original image's
// activations stay on the GPU for the whole run; a copy's value at a node is
// the original's map with the copy's "patch" (the node's window) pasted in.
// Each node is recorded as its plan step says:
// - slide: a crop of the input around the window (the original outside the
//   input's window, the input's patch inside, the layer's padding value
//   outside the map), then the ordinary layer op with padding 0 on the crop:
//   its output is exactly the window;
// - pointwise: the layer on the input's patch;
// - merge: the layer on crops of every input at the node's (union) window;
// - full: the ordinary layer on full maps, the inputs' patches pasted into
//   copies of the originals.
// Everything is recorded into the caller's recorder (one submit per batch)
// and released after that submit.
import type { Model } from '../model/model.js';
import { isMerge } from '../layers/layer.js';
import { Conv2D } from '../layers/conv2d.js';
import { MaxPool2D } from '../layers/maxpool2d.js';
import { AvgPool2D } from '../layers/avgpool2d.js';
import type { Recorder } from '../gpu/recorder.js';
import type { Tensor } from '../gpu/tensor.js';
import { sameShape } from '../gpu/tensor.js';
import { conv2d } from '../ops/conv2d.js';
import { maxPool2d } from '../ops/maxpool2d.js';
import { avgPool2d } from '../ops/avgpool2d.js';
import { poolGeometry } from '../ops/pool_geometry.js';
import { cropPaste, type PatchSource } from '../ops/crop_paste.js';
import type { IncrementalPlan, PositionWindows } from './incremental_plan.js';

/** A copy's value at a node inside its window: the original map with `source` pasted at the window (origins at `at` of the table). */
interface Windowed { original: Tensor; source: PatchSource; window: PositionWindows; at: number }

/** A copy's value at a node: a full batch tensor, or windowed. */
type Value = { full: Tensor } | Windowed;

/** What the reductions read: full maps (pasted where needed) and one channel's planes. */
export interface IncrementalForward {
  /** Node `index` as a full [n, ...shape] batch tensor. */
  full(index: number): Tensor;
  /** One channel of a map node as rows of a tensor: row r = copy r's plane. */
  plane(index: number, channel: number): { tensor: Tensor; rowStride: number; offset: number };
}

/** Origin table layout: zeros (crops of whole maps), then each window's origins, then each slide crop's. */
function originTable(plan: IncrementalPlan, first: number, n: number) {
  const sections: Array<{ tops: Int32Array; lefts: Int32Array }> = [];
  const add = (w: { tops: Int32Array; lefts: Int32Array }) => { sections.push(w); return 2 * n * sections.length; };
  const inputAt = add(plan.input);
  const windowAt: number[] = [];
  const cropAt: number[] = [];
  plan.steps.forEach((step, i) => {
    if (step.kind !== 'full') windowAt[i] = add(step.window);
    if (step.kind === 'slide') cropAt[i] = add(step.crop);
  });
  const table = new Int32Array(2 * n * (sections.length + 1));
  sections.forEach((s, k) => {
    for (let j = 0; j < n; j++) {
      table[2 * n * (k + 1) + 2 * j] = s.tops[first + j]!;
      table[2 * n * (k + 1) + 2 * j + 1] = s.lefts[first + j]!;
    }
  });
  return { table, inputAt, windowAt, cropAt };
}

/**
 * Records the forward of occluder positions first..first+n-1 into `rec`.
 * `originals` are the unoccluded image's activations (one per node, batch 1),
 * `image` the unoccluded image [1, C, H, W].
 */
export function recordIncrementalForward(
  rec: Recorder, model: Model, plan: IncrementalPlan, image: Tensor, originals: readonly Tensor[], fill: number, first: number, n: number,
): IncrementalForward {
  const rt = rec.runtime;
  const layout = originTable(plan, first, n);
  const table = rec.temp(rt.createTensor([layout.table.length], new Uint32Array(layout.table.buffer), 'u32', 'occlusion origins'));
  const temp = (t: Tensor) => rec.temp(t);
  const crop = (v: Windowed, height: number, width: number, cropAt: number, padValue = 0) =>
    temp(cropPaste(rec, v.original, table, v.source, { copies: n, height, width, patchAt: v.at, cropAt, padValue }));

  const input: Value = { original: image, source: { fill, height: plan.input.height, width: plan.input.width }, window: plan.input, at: layout.inputAt };
  const values: Value[] = [];
  const fulls = new Map<Value, Tensor>();
  const fullOf = (v: Value): Tensor => {
    if ('full' in v) return v.full;
    let t = fulls.get(v);
    if (!t) {
      const [, , H, W] = v.original.shape as [number, number, number, number];
      fulls.set(v, t = crop(v, H, W, 0));
    }
    return t;
  };
  const valueOf = (source: number) => (source < 0 ? input : values[source]!);
  const patchOf = (v: Windowed) => ('patch' in v.source ? v.source.patch : crop(v, v.window.height, v.window.width, v.at));

  model.layers.forEach((layer, i) => {
    const step = plan.steps[i]!;
    const args = model.sources[i]!.map(valueOf);
    const windowed = (output: Tensor): Value => {
      const w = (step as { window: PositionWindows }).window;
      const want = [n, output.shape[1]!, w.height, w.width];
      if (!sameShape(output.shape, want)) throw new Error(`incremental occlusion: ${layer.name} made [${output.shape}], its window is [${want}]`);
      return { original: originals[i]!, source: { patch: output }, window: w, at: layout.windowAt[i]! };
    };
    if (step.kind === 'full') {
      const xs = args.map(fullOf);
      const out = isMerge(layer) ? layer.forward(rec, xs) : layer.forward(rec, xs[0]!);
      const sw = (out as { switches?: Tensor }).switches;
      if (sw) temp(sw);
      values.push({ full: temp(out.output) });
    } else if (step.kind === 'slide') {
      const v = args[0] as Windowed;
      const x = crop(v, step.crop.height, step.crop.width, layout.cropAt[i]!, step.padValue);
      values.push(windowed(temp(slideOnCrop(rec, layer as Conv2D | MaxPool2D | AvgPool2D, x))));
    } else {
      // pointwise: the layer on the input's patch; merge: on every input cropped to the node's window.
      const xs = step.kind === 'pointwise'
        ? [patchOf(args[0] as Windowed)]
        : args.map((v) => crop(v as Windowed, step.window.height, step.window.width, layout.windowAt[i]!));
      values.push(windowed(temp(isMerge(layer) ? layer.forward(rec, xs).output : layer.forward(rec, xs[0]!).output)));
    }
  });

  return {
    full: (index) => fullOf(values[index]!),
    plane(index, channel) {
      const v = values[index]!;
      if ('full' in v) {
        const perCopy = v.full.size / n;
        return { tensor: v.full, rowStride: perCopy, offset: channel * (perCopy / v.full.shape[1]!) };
      }
      const [, , H, W] = v.original.shape as [number, number, number, number];
      const attrs = { copies: n, height: H, width: W, patchAt: v.at, cropAt: 0, channelOffset: channel, channels: 1 };
      return { tensor: temp(cropPaste(rec, v.original, table, v.source, attrs)), rowStride: H * W, offset: 0 };
    },
  };
}

/** The layer's own op on a crop, with no padding: the crop already holds the padding where the map ends. */
function slideOnCrop(rec: Recorder, layer: Conv2D | MaxPool2D | AvgPool2D, x: Tensor): Tensor {
  if (layer instanceof Conv2D) {
    const [kernel, bias] = layer.parameters();
    const { stride, dilation, groups, activation } = layer.attrs;
    return conv2d(rec, x, kernel!, bias ?? null, { stride, dilation, groups, activation, padding: [0, 0, 0, 0] });
  }
  // The window's geometry from the full map (what the plan used), minus the padding.
  const g = poolGeometry([1, x.shape[1]!, x.shape[2]!, x.shape[3]!], { ...layer.attrs, padding: 'valid', ceilMode: false }, layer.name);
  const attrs = { kernel: [g.kH, g.kW] as [number, number], stride: [g.sH, g.sW] as [number, number], dilation: [g.dH, g.dW] as [number, number], padding: 'valid' as const };
  if (layer instanceof MaxPool2D) {
    const { output, switches } = maxPool2d(rec, x, attrs);
    rec.temp(switches);
    return output;
  }
  return avgPool2d(rec, x, { ...attrs, countIncludePad: layer.attrs.countIncludePad });
}
