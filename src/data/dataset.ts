// Image datasets for the analyses that sweep many images (top-k activations):
// one iteration protocol over the forms a caller is likely to hold, cut into
// batches of the model's input. DOM-free; runs in browsers and Node.
import { parseIdx, gunzip } from './idx.js';
import { OutOfRangeError, ShapeError } from '../gpu/errors.js';
import { throwIfAborted } from '../util/progress.js';

export type ImageDataset =
  /** `count` images back to back, each of the model's input shape. */
  | { images: Float32Array; count: number }
  /** One array per image. */
  | Float32Array[]
  /** One image per item; read once, in order. */
  | AsyncIterable<Float32Array>
  /** IDX file bytes (gzip or not) as in MNIST; pixels are multiplied by `scale` (default 1/255). */
  | { idxImages: Uint8Array; idxLabels?: Uint8Array; scale?: number };

export interface IdxDataset {
  images: Float32Array;
  labels?: Uint8Array;
  count: number;
  /** Per image [C, H, W]: [1, H, W] for a 3-D IDX file [N, H, W], [C, H, W] for a 4-D one [N, C, H, W]. */
  shape: [number, number, number];
}

/**
 * Decodes IDX images (and labels) into floats `pixel * scale`. Gzip is
 * detected by its magic bytes. Throws ShapeError when the files do not parse,
 * when the images are not 3-D/4-D, or when the label count differs from the image count.
 */
export async function loadIdxDataset(images: Uint8Array, labels?: Uint8Array, scale = 1 / 255): Promise<IdxDataset> {
  if (!Number.isFinite(scale)) throw new OutOfRangeError(`loadIdxDataset: scale must be a finite number, got ${scale}`);
  const img = parseIdx(await gunzip(images), 'IDX images');
  let shape: [number, number, number];
  if (img.shape.length === 3) shape = [1, img.shape[1]!, img.shape[2]!];
  else if (img.shape.length === 4) shape = [img.shape[1]!, img.shape[2]!, img.shape[3]!];
  else throw new ShapeError(`loadIdxDataset: IDX images must be [N, H, W] or [N, C, H, W], got [${img.shape}]`);
  const count = img.shape[0]!;
  const out = new Float32Array(img.data.length);
  for (let i = 0; i < out.length; i++) out[i] = img.data[i]! * scale;
  if (labels === undefined) return { images: out, count, shape };
  const lab = parseIdx(await gunzip(labels), 'IDX labels');
  if (lab.shape.length !== 1) throw new ShapeError(`loadIdxDataset: IDX labels must be 1-D [N], got [${lab.shape}]`);
  if (lab.shape[0] !== count) {
    throw new ShapeError(`loadIdxDataset: ${lab.shape[0]} labels for ${count} images`);
  }
  return { images: out, labels: lab.data, count, shape };
}

function isIdx(d: ImageDataset): d is { idxImages: Uint8Array; idxLabels?: Uint8Array; scale?: number } {
  return typeof d === 'object' && d !== null && 'idxImages' in d;
}

function isPacked(d: ImageDataset): d is { images: Float32Array; count: number } {
  return typeof d === 'object' && d !== null && 'images' in d && !Array.isArray(d);
}

function isAsync(d: ImageDataset): d is AsyncIterable<Float32Array> {
  return typeof d === 'object' && d !== null && Symbol.asyncIterator in d;
}

function checkImage(image: unknown, index: number, imageSize: number): Float32Array {
  if (!(image instanceof Float32Array)) throw new ShapeError(`dataset: image ${index} is not a Float32Array`);
  if (image.length !== imageSize) {
    throw new ShapeError(`dataset: image ${index} has ${image.length} values, the model's input image has ${imageSize}`);
  }
  return image;
}

/** The number of images when it is known without reading the data (not for async iterables). */
export function datasetSize(dataset: ImageDataset): number | undefined {
  if (Array.isArray(dataset)) return dataset.length;
  if (isPacked(dataset)) return dataset.count;
  if (isIdx(dataset)) {
    // The count sits in the header; gzip would have to be inflated first.
    const b = dataset.idxImages;
    if (b.length >= 8 && b[0] === 0 && b[1] === 0) return new DataView(b.buffer, b.byteOffset, 8).getUint32(4, false);
    return undefined;
  }
  return undefined;
}

/**
 * Whether iterating the dataset again yields the same images. False for a
 * one-shot async iterator (an async generator object, a stream reader):
 * whoever needs images again must keep them during the first pass.
 */
export function datasetReiterable(dataset: ImageDataset): boolean {
  if (!isAsync(dataset) || Array.isArray(dataset)) return true;
  return typeof (dataset as unknown as { next?: unknown }).next !== 'function';
}

/**
 * Cuts a dataset into batches of `batchSize` images (the last one may be
 * shorter), each `count * imageSize` floats back to back. Packed and IDX data
 * are handed out as views without copying; arrays and async iterables are
 * copied into a fresh buffer per batch. Checks `signal` before every batch.
 */
export async function* datasetBatches(
  dataset: ImageDataset, imageSize: number, batchSize: number, signal?: AbortSignal,
): AsyncGenerator<{ start: number; count: number; data: Float32Array }> {
  if (!Number.isInteger(imageSize) || imageSize < 1) throw new OutOfRangeError(`datasetBatches: imageSize must be a positive integer, got ${imageSize}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new OutOfRangeError(`datasetBatches: batchSize must be a positive integer, got ${batchSize}`);
  throwIfAborted(signal);

  if (isIdx(dataset)) {
    const loaded = await loadIdxDataset(dataset.idxImages, dataset.idxLabels, dataset.scale);
    const per = loaded.shape[0] * loaded.shape[1] * loaded.shape[2];
    if (per !== imageSize) {
      throw new ShapeError(`dataset: IDX images are [${loaded.shape}] = ${per} values, the model's input image has ${imageSize}`);
    }
    yield* datasetBatches({ images: loaded.images, count: loaded.count }, imageSize, batchSize, signal);
    return;
  }

  if (Array.isArray(dataset)) {
    for (let start = 0; start < dataset.length; start += batchSize) {
      throwIfAborted(signal);
      const count = Math.min(batchSize, dataset.length - start);
      const data = new Float32Array(count * imageSize);
      for (let i = 0; i < count; i++) data.set(checkImage(dataset[start + i], start + i, imageSize), i * imageSize);
      yield { start, count, data };
    }
    return;
  }

  if (isPacked(dataset)) {
    const { images, count: total } = dataset;
    if (!(images instanceof Float32Array)) throw new ShapeError('dataset: images must be a Float32Array');
    if (!Number.isInteger(total) || total < 0) throw new OutOfRangeError(`dataset: count must be an integer >= 0, got ${total}`);
    if (images.length !== total * imageSize) {
      throw new ShapeError(`dataset: ${images.length} values are not ${total} images of ${imageSize} values (${total * imageSize})`);
    }
    for (let start = 0; start < total; start += batchSize) {
      throwIfAborted(signal);
      const count = Math.min(batchSize, total - start);
      yield { start, count, data: images.subarray(start * imageSize, (start + count) * imageSize) };
    }
    return;
  }

  if (isAsync(dataset)) {
    let start = 0;
    let data = new Float32Array(batchSize * imageSize);
    let count = 0;
    for await (const image of dataset) {
      throwIfAborted(signal);
      data.set(checkImage(image, start + count, imageSize), count * imageSize);
      if (++count === batchSize) {
        yield { start, count, data };
        start += count;
        count = 0;
        data = new Float32Array(batchSize * imageSize);
      }
    }
    throwIfAborted(signal);
    if (count > 0) yield { start, count, data: data.subarray(0, count * imageSize) };
    return;
  }

  throw new ShapeError('dataset: expected { images, count }, an array of Float32Array, an async iterable of Float32Array, or { idxImages }');
}

/**
 * The images at `indices` (any order, repeats allowed) as a map index ->
 * image, read by iterating the dataset once more; only those images are kept.
 * Throws OutOfRangeError if an index is past the end of the dataset.
 */
export async function datasetImages(
  dataset: ImageDataset, imageSize: number, indices: Iterable<number>, signal?: AbortSignal,
): Promise<Map<number, Float32Array>> {
  const wanted = new Set(indices);
  const found = new Map<number, Float32Array>();
  if (wanted.size === 0) return found;
  const last = Math.max(...wanted);
  if (isPacked(dataset) || Array.isArray(dataset)) {
    // Random access: no pass over the data needed.
    const total = datasetSize(dataset)!;
    if (last >= total) throw new OutOfRangeError(`dataset: image ${last} is past the end of a dataset of ${total} images`);
    for (const i of wanted) {
      const image = Array.isArray(dataset)
        ? checkImage(dataset[i], i, imageSize)
        : dataset.images.subarray(i * imageSize, (i + 1) * imageSize);
      found.set(i, image);
    }
    return found;
  }
  let seen = 0;
  for await (const batch of datasetBatches(dataset, imageSize, 64, signal)) {
    for (let j = 0; j < batch.count; j++) {
      if (wanted.has(batch.start + j)) found.set(batch.start + j, batch.data.slice(j * imageSize, (j + 1) * imageSize));
    }
    seen = batch.start + batch.count;
    if (seen > last) break;
  }
  if (seen <= last) throw new OutOfRangeError(`dataset: image ${last} is past the end of a dataset of ${seen} images`);
  return found;
}
