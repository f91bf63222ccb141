// The strongest activations of feature maps over a dataset, with the image
// patches under their receptive fields and the DeconvNet projection of each
// single activation cropped to the same box: Zeiler & Fergus 2014, Fig. 2
// ("the top 9 activations in a random subset of feature maps across the
// validation data, projected down to pixel space").
//
// As in the paper, each feature map contributes at most one activation per
// image: its maximum in that image. So the k entries of a channel come from k
// different images.
//
// Cost: the dataset pass is one submit per batch (the forward pass up to the
// deepest chosen layer, then per chosen layer a channel_max and a topk_merge
// pass into a table that lives on the GPU for the whole pass) and one read of
// that table at the end: 12 bytes per (layer, channel, rank), whatever the
// number of images. Then, per chosen layer and channel, the k kept images are
// run forward as one batch and projected at their k positions in one call
// (two submits) and the projections read back (k images) to be cropped on
// the CPU.
import type { Model } from '../model/model.js';
import type { ProjectionMode } from '../layers/layer.js';
import type { Tensor } from '../gpu/tensor.js';
import { createDeconvNet } from '../deconv/deconvnet.js';
import { channelMax } from '../ops/channel_max.js';
import { topkMerge, emptyTopkTable, TOPK_NONE } from '../ops/topk_merge.js';
import { OutOfRangeError, ShapeError } from '../gpu/errors.js';
import { throwIfAborted, type RunOptions } from '../util/progress.js';
import { gpuPacer } from './pacing.js';
import { fieldBox, type FieldBox } from './receptive_field.js';
import {
  datasetBatches, datasetImages, datasetReiterable, datasetSize, loadIdxDataset, type ImageDataset,
} from '../data/dataset.js';

export interface TopActivation {
  /** Index of the image in the dataset. */
  imageIndex: number;
  /** Position in the feature map (0, 0 for a flat layer). */
  y: number;
  x: number;
  value: number;
  /** The unit's receptive field in the input, unclipped (see fieldBox). */
  box: FieldBox;
  /** The input under the box, [C, height, width], zero outside the image. */
  patch: { data: Float32Array; shape: [number, number, number] };
  /** The DeconvNet projection of this one activation, cropped to the box like the patch. */
  projection?: { data: Float32Array; shape: [number, number, number] };
}

export interface TopKResult {
  layer: string;
  /** Channels (feature maps, or units of a flat layer) of the layer. */
  channels: number;
  k: number;
  /** [channel][rank], strongest first; channels not chosen, and channels of an empty dataset, have []. */
  top: TopActivation[][];
  /** The channels that were ranked, in the order given. */
  selected: number[];
}

export interface TopKOptions extends RunOptions {
  layers: Array<number | string>;
  /** Activations kept per channel (default 9, as in the paper). */
  k?: number;
  /** Images per forward pass in the dataset pass (default 32). */
  batchSize?: number;
  /** Channels to rank, the same for every layer (default: all of each layer). */
  channels?: number[];
  /** Project each kept activation to pixel space (default true). */
  projections?: boolean;
  /** How ReLUs pass the projection back (default 'deconvnet'). */
  mode?: ProjectionMode;
}

interface Plan {
  index: number;
  name: string;
  channels: number;
  plane: number;
  width: number;
  selected: number[];
  /** First table entry of this layer. */
  offset: number;
}

/** Per image [C, H, W] of the model input (a flat input [F] counts as [1, 1, F]). */
function imageDims(model: Model): [number, number, number] {
  const s = model.inputShape;
  if (s.length === 3) return [s[0]!, s[1]!, s[2]!];
  if (s.length === 2) return [1, s[0]!, s[1]!];
  return [1, 1, s.reduce((a, b) => a * b, 1)];
}

/** The part of one image [C, H, W] under `box`, zeros where the box leaves the image. */
export function cropToBox(image: Float32Array, dims: readonly [number, number, number], box: FieldBox): Float32Array {
  const [C, H, W] = dims;
  const out = new Float32Array(C * box.height * box.width);
  const y0 = Math.max(box.top, 0), y1 = Math.min(box.top + box.height, H);
  const x0 = Math.max(box.left, 0), x1 = Math.min(box.left + box.width, W);
  if (y0 >= y1 || x0 >= x1) return out;
  for (let c = 0; c < C; c++) {
    for (let y = y0; y < y1; y++) {
      const src = (c * H + y) * W;
      const dst = (c * box.height + (y - box.top)) * box.width - box.left;
      out.set(image.subarray(src + x0, src + x1), dst + x0);
    }
  }
  return out;
}

/** Progress with a total that may grow (an async iterable's length is only known at its end). */
function makeReporter(options: RunOptions, knownImages: number | undefined, projectionUnits: number) {
  let done = 0, seen = 0, last = -Infinity, fired = -1, lastStage = '';
  const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());
  const total = () => (knownImages ?? seen) + projectionUnits;
  const fire = (stage: string) => {
    last = now();
    fired = done;
    lastStage = stage;
    options.onProgress?.({ done, total: total(), stage });
  };
  return {
    report(units: number, stage: string, imagesSeen = seen): void {
      done += units;
      seen = imagesSeen;
      // At least every 250 ms, at the first unit of each stage, and at the end.
      if (now() - last >= 250 || stage !== lastStage || done >= total()) fire(stage);
    },
    /** The final report (done == total), unless it was just made. */
    finish(stage: string): void {
      if (fired !== done || done < total()) fire(stage);
    },
  };
}

/**
 * The k strongest activations of every chosen channel of every chosen layer
 * over `dataset` (per image only the strongest position of a map counts),
 * with their receptive-field boxes, input patches and (optionally) DeconvNet
 * projections. Rejects with an AbortError (and frees its GPU buffers) when
 * `signal` aborts; reports progress in images ('forward') then channels
 * ('project').
 */
export async function topActivations(model: Model, dataset: ImageDataset, options: TopKOptions): Promise<TopKResult[]> {
  const rt = model.runtime;
  rt.assertUsable('topActivations');
  const { signal } = options;
  throwIfAborted(signal);
  const k = options.k ?? 9;
  const batchSize = options.batchSize ?? 32;
  const projections = options.projections ?? true;
  const mode = options.mode ?? 'deconvnet';
  if (!Number.isInteger(k) || k < 1) throw new OutOfRangeError(`topActivations: k must be a positive integer, got ${k}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new OutOfRangeError(`topActivations: batchSize must be a positive integer, got ${batchSize}`);
  if (mode !== 'deconvnet' && mode !== 'guided' && mode !== 'gradient') {
    throw new OutOfRangeError(`topActivations: unknown mode "${String(mode)}" (deconvnet, guided or gradient)`);
  }
  if (!Array.isArray(options.layers) || options.layers.length === 0) throw new OutOfRangeError('topActivations: no layers given');

  const dims = imageDims(model);
  const imageSize = dims[0] * dims[1] * dims[2];

  // The plan: which channels of which layer go where in the one GPU table.
  let entries = 0;
  const plans: Plan[] = options.layers.map((layer) => {
    const index = model.layerIndex(layer);
    const shape = model.info[index]!.outputShape;
    const channels = shape[0]!;
    const plane = shape.slice(1).reduce((a, b) => a * b, 1);
    const name = model.layers[index]!.name;
    const selected = options.channels ? [...options.channels] : Array.from({ length: channels }, (_, c) => c);
    if (selected.length === 0) throw new OutOfRangeError('topActivations: channels is empty');
    for (const c of selected) {
      if (!Number.isInteger(c) || c < 0 || c >= channels) {
        throw new OutOfRangeError(`topActivations: channel ${c} is out of range for layer "${name}", which has ${channels} channels (0..${channels - 1})`);
      }
    }
    const plan = { index, name, channels, plane, width: shape.length === 3 ? shape[2]! : 1, selected, offset: entries };
    entries += selected.length * k;
    return plan;
  });
  const deepest = Math.max(...plans.map((p) => p.index));

  // IDX bytes are decoded once, here, and then read like packed images.
  let data = dataset;
  if (typeof dataset === 'object' && dataset !== null && 'idxImages' in dataset) {
    const loaded = await loadIdxDataset(dataset.idxImages, dataset.idxLabels, dataset.scale);
    if (loaded.shape.join() !== dims.join()) {
      throw new ShapeError(`topActivations: IDX images are [${loaded.shape}], the model takes [${model.inputShape}]`);
    }
    data = { images: loaded.images, count: loaded.count };
  }
  // A one-shot iterator cannot be read again for the kept images: keep its batches.
  const oneShot = !datasetReiterable(data);
  const kept: Array<{ start: number; count: number; data: Float32Array }> = [];
  const progress = makeReporter(options, datasetSize(data), projections ? plans.reduce((s, p) => s + p.selected.length, 0) : 0);

  // ---- the dataset pass: nothing read back until the end ----
  let raw: Uint32Array;
  const table = rt.createTensor([entries, 3], emptyTopkTable(entries), 'u32', 'topk table');
  const lists: Tensor[] = [];
  try {
    for (const p of plans) lists.push(rt.createTensor([p.selected.length], Uint32Array.from(p.selected), 'u32', `${p.name} channels`));
    const pacer = gpuPacer(rt.device);
    for await (const batch of datasetBatches(data, imageSize, batchSize, signal)) {
      if (oneShot) kept.push(batch);
      const rec = rt.record(`topActivations: images ${batch.start}..${batch.start + batch.count - 1}`);
      try {
        const x = rec.temp(rt.createTensor([batch.count, ...model.inputShape], batch.data, 'f32', 'input'));
        const first = rec.temp(rt.createTensor([1], Uint32Array.of(batch.start), 'u32', 'first image'));
        // Only up to the deepest chosen layer. A reshape (Flatten) is a view
        // of its input: releasing it twice is harmless.
        const { outputs, switches } = model.recordForward(rec, x, deepest + 1);
        for (const t of [...outputs, ...switches]) if (t) rec.temp(t);
        plans.forEach((p, j) => {
          const cand = rec.temp(channelMax(rec, outputs[p.index]!, lists[j]!, p.name));
          topkMerge(rec, cand, first, table, { k, offset: p.offset });
        });
      } catch (e) {
        rec.abandon();
        throw e;
      }
      await rec.submit();
      await pacer.submitted();
      progress.report(batch.count, 'forward', batch.start + batch.count);
    }
    throwIfAborted(signal);
    raw = await rt.readU32(table);
  } finally {
    table.release();
    for (const l of lists) l.release();
  }
  const values = new Float32Array(raw.buffer, raw.byteOffset, raw.length);

  // ---- decode the table: boxes now, images next ----
  type Entry = { imageIndex: number; y: number; x: number; value: number; box: FieldBox };
  const ranked: Entry[][][] = plans.map((p) => p.selected.map((_, m) => {
    const list: Entry[] = [];
    for (let r = 0; r < k; r++) {
      const e = (p.offset + m * k + r) * 3;
      if (raw[e + 1] === TOPK_NONE) break;
      const position = raw[e + 2]!;
      const y = Math.floor(position / p.width), x = position % p.width;
      list.push({ imageIndex: raw[e + 1]!, y, x, value: values[e]!, box: fieldBox(model, p.index, y, x) });
    }
    return list;
  }));

  const needed = new Set<number>();
  for (const layer of ranked) for (const ch of layer) for (const e of ch) needed.add(e.imageIndex);
  let images: Map<number, Float32Array>;
  if (oneShot) {
    images = new Map();
    for (const b of kept) {
      for (let j = 0; j < b.count; j++) {
        if (needed.has(b.start + j)) images.set(b.start + j, b.data.subarray(j * imageSize, (j + 1) * imageSize));
      }
    }
  } else {
    images = await datasetImages(data, imageSize, needed, signal);
  }
  kept.length = 0;

  // ---- patches, and per channel one forward + one projection of its k images ----
  const deconv = createDeconvNet(model);
  const results: TopKResult[] = [];
  for (let l = 0; l < plans.length; l++) {
    const p = plans[l]!;
    const top: TopActivation[][] = Array.from({ length: p.channels }, () => []);
    for (let m = 0; m < p.selected.length; m++) {
      throwIfAborted(signal);
      const channel = p.selected[m]!;
      const list = ranked[l]![m]!;
      const acts: TopActivation[] = list.map((e) => ({
        ...e,
        patch: { data: cropToBox(images.get(e.imageIndex)!, dims, e.box), shape: [dims[0], e.box.height, e.box.width] },
      }));
      if (projections && list.length > 0) {
        const batch = new Float32Array(list.length * imageSize);
        list.forEach((e, i) => batch.set(images.get(e.imageIndex)!, i * imageSize));
        const fwd = await model.forward(batch);
        let projected: Float32Array;
        try {
          const proj = await deconv.project(fwd, { layer: p.index, channel, position: list.map(({ y, x }) => ({ y, x })), mode });
          try {
            projected = (await proj.read()).data;
          } finally {
            proj.release();
          }
        } finally {
          fwd.release();
        }
        acts.forEach((a, i) => {
          a.projection = {
            data: cropToBox(projected.subarray(i * imageSize, (i + 1) * imageSize), dims, a.box),
            shape: [dims[0], a.box.height, a.box.width],
          };
        });
      }
      // The same channel may be asked for twice; keep its first ranking.
      if (top[channel]!.length === 0) top[channel] = acts;
      if (projections) progress.report(1, 'project');
    }
    results.push({ layer: p.name, channels: p.channels, k, top, selected: [...p.selected] });
  }
  progress.finish(projections ? 'project' : 'forward');
  return results;
}
