// Writes demo/samples/fashion-mnist-samples.json: the first two test images of
// each class from Debian's dataset-fashion-mnist (MIT licence, Zalando SE).
// Usage: node scripts/make-demo-samples.mjs [dir-with-t10k-files]
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';

const dir = process.argv[2] ?? '/usr/share/datasets/fashion-mnist';
const read = (f) => gunzipSync(readFileSync(join(dir, f)));
const images = read('t10k-images-idx3-ubyte.gz');
const labels = read('t10k-labels-idx1-ubyte.gz');
const perClass = new Map();
const samples = [];
for (let i = 0; i < 10000 && samples.length < 20; i++) {
  const label = labels[8 + i];
  if ((perClass.get(label) ?? 0) >= 2) continue;
  perClass.set(label, (perClass.get(label) ?? 0) + 1);
  samples.push({ index: i, label, pixels: Buffer.from(images.subarray(16 + i * 784, 16 + (i + 1) * 784)).toString('base64') });
}
samples.sort((a, b) => a.label - b.label || a.index - b.index);
writeFileSync('demo/samples/fashion-mnist-samples.json', JSON.stringify({ source: 'Fashion-MNIST t10k (Debian dataset-fashion-mnist), MIT licence', width: 28, height: 28, samples }, null, 1) + '\n');
console.log(`wrote ${samples.length} samples`);
