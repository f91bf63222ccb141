// Reads Fashion-MNIST IDX files (gzip or not) from a folder: Debian's
// dataset-fashion-mnist by default, or the files as a user downloads them.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseIdx, FormatError } from '../src/index.js';
import type { LabelledImages } from '../src/train/trainer.js';

export const DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';

function readIdx(dir: string, stem: string) {
  for (const name of [`${stem}.gz`, stem]) {
    const path = join(dir, name);
    if (!existsSync(path)) continue;
    const bytes = readFileSync(path);
    // zlib rather than the library's gunzip(): Node's DecompressionStream can
    // crash once Dawn's globals are installed.
    return parseIdx(new Uint8Array(name.endsWith('.gz') ? gunzipSync(bytes) : bytes), path);
  }
  throw new FormatError(`${join(dir, stem)}(.gz): not found (install Debian's dataset-fashion-mnist or pass --data DIR)`);
}

export async function loadFashionMnist(dir: string, split: 'train' | 't10k'): Promise<LabelledImages> {
  const images = readIdx(dir, `${split}-images-idx3-ubyte`);
  const labels = readIdx(dir, `${split}-labels-idx1-ubyte`);
  if (images.shape.length !== 3 || images.shape[1] !== 28 || images.shape[2] !== 28) {
    throw new FormatError(`${dir}/${split}-images: shape [${images.shape}] is not [N, 28, 28]`);
  }
  if (labels.shape[0] !== images.shape[0]) {
    throw new FormatError(`${dir}/${split}: ${images.shape[0]} images but ${labels.shape[0]} labels`);
  }
  return { images: Float32Array.from(images.data, (v) => v / 255), labels: labels.data, count: images.shape[0]! };
}
