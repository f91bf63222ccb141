// The Fashion-MNIST subsets shipped with the demo page (scripts/make-demo-data.mjs):
// they load with the library, are class-balanced, and are the source's images in
// the source's order (checked against Debian's dataset where it is installed).
import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { loadIdxDataset, type IdxDataset } from '../../src/index.js';

const SOURCE = '/usr/share/datasets/fashion-mnist';

async function load(prefix: string): Promise<IdxDataset> {
  return loadIdxDataset(readFileSync(`${prefix}-images.idx.gz`), readFileSync(`${prefix}-labels.idx.gz`), 1);
}

const perClass = (labels: Uint8Array) => Array.from({ length: 10 }, (_, c) => labels.filter((l) => l === c).length);

/** Indices in `source` at which the images of `subset` sit, matched in order; null where one is not found. */
function subsequence(subset: IdxDataset, source: IdxDataset): number[] | null {
  const size = 28 * 28;
  const found: number[] = [];
  let at = 0;
  for (let i = 0; i < subset.count; i++) {
    const image = subset.images.subarray(i * size, (i + 1) * size);
    while (at < source.count && (source.labels![at] !== subset.labels![i] || !source.images.subarray(at * size, (at + 1) * size).every((v, p) => v === image[p]))) at++;
    if (at === source.count) return null;
    found.push(at++);
  }
  return found;
}

describe('shipped Fashion-MNIST subsets', () => {
  for (const [split, count, source] of [['train', 3000, 'train'], ['test', 500, 't10k']] as const) {
    it(`${split}: ${count} 28x28 images, ${count / 10} per class${existsSync(SOURCE) ? ', in the source\'s order' : ''}`, async () => {
      const subset = await load(`demo/public/data/fashion-mnist-${split}`);
      expect(subset.count).toBe(count);
      expect(subset.shape).toEqual([1, 28, 28]);
      expect(perClass(subset.labels!)).toEqual(new Array(10).fill(count / 10));
      if (!existsSync(SOURCE)) return;
      const full = await loadIdxDataset(
        readFileSync(`${SOURCE}/${source}-images-idx3-ubyte.gz`), readFileSync(`${SOURCE}/${source}-labels-idx1-ubyte.gz`), 1);
      const indices = subsequence(subset, full);
      expect(indices).not.toBeNull();
      // The first count/10 of each class: a source image left out belongs to a class whose quota was full.
      const chosen = new Set(indices);
      const taken = new Array(10).fill(0);
      for (let j = 0; j <= indices!.at(-1)!; j++) {
        const c = full.labels![j]!;
        if (chosen.has(j)) taken[c]++;
        else expect(taken[c], `source image ${j} (class ${c}) left out`).toBe(count / 10);
      }
    });
  }
});
