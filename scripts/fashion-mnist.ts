// Fashion-MNIST IDX files (gzip or not), read through the runner's file
// functions: Debian's dataset-fashion-mnist by default, or the files as a
// user downloads them (same names) in any folder.
import { loadIdxDataset } from '../src/data/dataset.js';
import type { LabelledImages } from '../src/train/trainer.js';
import { readBytes } from './page-io.js';

export const DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';

export async function loadFashionMnist(dir: string, split: 'train' | 't10k'): Promise<LabelledImages> {
  const [images, labels] = await Promise.all([
    readBytes(`${dir}/${split}-images-idx3-ubyte.gz`),
    readBytes(`${dir}/${split}-labels-idx1-ubyte.gz`),
  ]);
  const data = await loadIdxDataset(images, labels);
  return { images: data.images, labels: data.labels!, count: data.count };
}
