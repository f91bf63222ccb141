// Runs in Node on Dawn or in Chromium (see occlusion.ts): occlusion maps of
// one image (Zeiler & Fergus 2014, Fig. 7) as JSON and PNGs.
import { createRuntime, occlusionSensitivity, heatMapToImage, labelMapToImage, type OcclusionResult } from '../src/index.js';
import { loadModelFiles, loadInputs } from './analysis-files.js';
import { encodePng, enlarge } from './image-io.js';
import { writeBytes, writeText } from './page-io.js';

export interface OcclusionArgs {
  modelFiles: string[];
  image: string;
  /** Layer of map (a); '' : the last Conv2D layer. */
  layer: string;
  /** Side of the grey square; 0: an eighth of the image's shorter side. */
  size: number;
  /** 0: half the square. */
  stride: number;
  /** -1: the unoccluded prediction. */
  classIndex: number;
  out: string;
}

/** The JSON written: the result's maps as arrays (row-major, rows x cols), with class names where the model has them. */
export function occlusionJson(a: OcclusionArgs, r: OcclusionResult, classNames?: string[]) {
  return {
    model: a.modelFiles[0],
    image: a.image,
    rows: r.rows, cols: r.cols, size: r.size, stride: r.stride,
    layer: r.layer, strongestChannel: r.strongestChannel,
    classIndex: r.classIndex, className: classNames?.[r.classIndex],
    unoccluded: r.unoccluded,
    featureActivation: Array.from(r.featureActivation),
    classProbability: Array.from(r.classProbability),
    topLabel: Array.from(r.topLabel),
    topProbability: Array.from(r.topProbability),
    path: r.path,
  };
}

export async function main(a: OcclusionArgs) {
  const runtime = await createRuntime();
  const loaded = await loadModelFiles(runtime, a.modelFiles);
  const { model } = loaded;
  const [image] = await loadInputs(loaded, [a.image]);
  const [, height, width] = model.inputShape as [number, number, number];
  const layer = a.layer || model.info.filter((l) => l.kind === 'Conv2D' && l.projectable).pop()?.name;
  if (!layer) throw new Error('the model has no Conv2D layer: choose one with --layer');
  const size = a.size > 0 ? a.size : Math.max(1, Math.round(Math.min(height, width) / 8));
  const r = await occlusionSensitivity(model, image!, {
    layer, size, ...(a.stride > 0 ? { stride: a.stride } : {}), ...(a.classIndex >= 0 ? { classIndex: a.classIndex } : {}),
  });
  console.log(`occlusion of ${a.image}: ${r.rows}x${r.cols} positions of a ${r.size}-pixel square, stride ${r.stride}; layer ${r.layer} channel ${r.strongestChannel}, class ${r.classIndex}${loaded.classNames ? ` (${loaded.classNames[r.classIndex]})` : ''} (${r.path})`);
  await writeText(`${a.out}/occlusion.json`, JSON.stringify(occlusionJson(a, r, loaded.classNames), null, 1) + '\n');
  // Each grid cell as a block about the size of the stride, so the maps line up with the image.
  const show = (picture: ReturnType<typeof heatMapToImage>) => encodePng(enlarge(picture, Math.max(1, Math.round(height / r.rows))));
  await writeBytes(`${a.out}/feature.png`, show(heatMapToImage(r.featureActivation, r.cols, r.rows)));
  await writeBytes(`${a.out}/probability.png`, show(heatMapToImage(r.classProbability, r.cols, r.rows, { min: 0 })));
  await writeBytes(`${a.out}/label.png`, show(labelMapToImage(r.topLabel, r.cols, r.rows)));
  console.log(`wrote ${a.out}/occlusion.json, feature.png, probability.png, label.png`);
  model.destroy();
  runtime.destroy();
}
