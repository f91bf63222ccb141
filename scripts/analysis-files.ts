// What the command-line analyses (topk, occlusion) read, in either host of
// their `main`s: the model (its file plus the weight files beside it, as
// scripts/node-gpu.ts lists them) and image files turned into model inputs.
import { loadModel, UNIT_RANGE, type LoadedModel, type Runtime } from '../src/index.js';
import { readBytes } from './page-io.js';
import { imageToInput } from './image-io.js';

/** The model file first, then the weight files it may name (TF.js shards, our manifest's .bin). */
export async function loadModelFiles(runtime: Runtime, paths: string[]): Promise<LoadedModel> {
  const files = await Promise.all(paths.map(async (path) => new File([await readBytes(path) as BlobPart], path.split('/').pop()!)));
  return loadModel(runtime, files.length === 1 ? files[0]! : files);
}

/** Each image file as a model input [C, H, W], with the model's preprocessing (pixels / 255 where the file names none). */
export async function loadInputs(loaded: LoadedModel, paths: string[]): Promise<Float32Array[]> {
  const preprocessing = loaded.preprocessing ?? UNIT_RANGE;
  return Promise.all(paths.map(async (path) => imageToInput(await readBytes(path), path, loaded.model.inputShape, preprocessing)));
}

export const baseName = (path: string) => path.split('/').pop()!.replace(/\.[^.]+$/, '');
