// Runs in Node on Dawn or in Chromium (see topk.ts): the top-k activations of
// chosen layers' channels over a folder of images, as JSON and PNGs.
import { createRuntime, topActivations, type TopKResult } from '../src/index.js';
import { projectionToImage } from '../src/render/image.js';
import { inputToImage } from '../src/render/input_image.js';
import { UNIT_RANGE } from '../src/data/preprocessing.js';
import { loadModelFiles, loadInputs } from './analysis-files.js';
import { encodePng, tileImages } from './image-io.js';
import { writeBytes, writeText } from './page-io.js';

export interface TopkArgs {
  modelFiles: string[];
  images: string[];
  /** Layer names; empty: every Conv2D layer. */
  layers: string[];
  k: number;
  /** Channels ranked in every layer; null: all. */
  channels: number[] | null;
  out: string;
}

/** The JSON written: per layer and ranked channel, the k strongest activations with their image file. */
export function topkJson(a: TopkArgs, results: TopKResult[]) {
  return {
    model: a.modelFiles[0],
    images: a.images,
    k: a.k,
    layers: results.map((r) => ({
      layer: r.layer,
      channels: r.channels,
      selected: r.selected,
      top: r.selected.map((channel) => ({
        channel,
        activations: r.top[channel]!.map((t) => ({ image: a.images[t.imageIndex], imageIndex: t.imageIndex, y: t.y, x: t.x, value: t.value, box: t.box })),
      })),
    })),
  };
}

export async function main(a: TopkArgs) {
  const runtime = await createRuntime();
  const loaded = await loadModelFiles(runtime, a.modelFiles);
  const { model } = loaded;
  const layers = a.layers.length > 0 ? a.layers : model.info.filter((l) => l.kind === 'Conv2D' && l.projectable).map((l) => l.name);
  const inputs = await loadInputs(loaded, a.images);
  console.log(`top ${a.k} of ${layers.join(', ')} over ${inputs.length} images (${loaded.format} model ${loaded.source})`);
  const results = await topActivations(model, inputs, { layers, k: a.k, ...(a.channels ? { channels: a.channels } : {}) });
  await writeText(`${a.out}/topk.json`, JSON.stringify(topkJson(a, results), null, 1) + '\n');
  // Per channel, as in the paper's Fig. 2: the projections (left) beside the image patches (right).
  for (const r of results) {
    for (const channel of r.selected) {
      const top = r.top[channel]!;
      if (top.length === 0) continue;
      const columns = Math.ceil(Math.sqrt(top.length));
      const projections = tileImages(top.map((t) => projectionToImage(t.projection!.data, t.projection!.shape)), columns);
      const patches = tileImages(top.map((t) => inputToImage(t.patch.data, t.patch.shape, loaded.preprocessing ?? UNIT_RANGE)), columns);
      await writeBytes(`${a.out}/${r.layer}-c${channel}.png`, encodePng(tileImages([projections, patches], 2, 4)));
    }
  }
  console.log(`wrote ${a.out}/topk.json and a PNG per ranked channel`);
  model.destroy();
  runtime.destroy();
}
