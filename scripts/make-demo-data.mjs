// Writes the Fashion-MNIST subsets the demo page ships (demo/public/data/):
// the first 300 training images of each class (3,000) and the first 50 test
// images of each class (500), in dataset order, as gzipped IDX files that
// loadIdxDataset reads. Deterministic: the same source gives the same bytes.
// Source: Debian's dataset-fashion-mnist (MIT licence, Zalando SE).
// Usage: node scripts/make-demo-data.mjs [dir-with-idx-gz-files]
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { join } from 'node:path';

const dir = process.argv[2] ?? '/usr/share/datasets/fashion-mnist';
const outDir = 'demo/public/data';
const CLASSES = 10;
const PIXELS = 28 * 28;

const read = (file) => gunzipSync(readFileSync(join(dir, file)));

/** Indices of the first `perClass` images of each class, in dataset order. */
function balancedIndices(labels, perClass) {
  const taken = new Array(CLASSES).fill(0);
  const indices = [];
  const count = labels.length - 8;
  for (let i = 0; i < count && indices.length < perClass * CLASSES; i++) {
    const label = labels[8 + i];
    if (taken[label] >= perClass) continue;
    taken[label]++;
    indices.push(i);
  }
  if (indices.length !== perClass * CLASSES) throw new Error(`only ${indices.length} images found for ${perClass} per class`);
  return indices;
}

function idxHeader(type, shape) {
  const header = Buffer.alloc(4 + 4 * shape.length);
  header[2] = type;
  header[3] = shape.length;
  shape.forEach((size, i) => header.writeUInt32BE(size, 4 + 4 * i));
  return header;
}

function writeSubset(name, imagesFile, labelsFile, perClass) {
  const images = read(imagesFile);
  const labels = read(labelsFile);
  const indices = balancedIndices(labels, perClass);
  const n = indices.length;
  const imageData = Buffer.concat([idxHeader(0x08, [n, 28, 28]), ...indices.map((i) => images.subarray(16 + i * PIXELS, 16 + (i + 1) * PIXELS))]);
  const labelData = Buffer.concat([idxHeader(0x08, [n]), Buffer.from(indices.map((i) => labels[8 + i]))]);
  writeFileSync(join(outDir, `fashion-mnist-${name}-images.idx.gz`), gzipSync(imageData, { level: 9 }));
  writeFileSync(join(outDir, `fashion-mnist-${name}-labels.idx.gz`), gzipSync(labelData, { level: 9 }));
  console.log(`${name}: ${n} images (${perClass} per class), source indices ${indices[0]}..${indices[n - 1]}`);
}

writeSubset('train', 'train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 300);
writeSubset('test', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz', 50);
