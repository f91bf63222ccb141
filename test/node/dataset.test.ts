// ImageDataset forms and the IDX loader, in Node (no GPU needed). The real
// Fashion-MNIST files of the Debian package `dataset-fashion-mnist` are read
// when present; the checks decode them a second, independent way (node:zlib
// and a hand-written header parse).
import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  datasetBatches, datasetImages, datasetReiterable, datasetSize, loadIdxDataset, type ImageDataset,
} from '../../src/data/dataset.js';
import { ShapeError, OutOfRangeError } from '../../src/gpu/errors.js';

function idx(shape: number[], data: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(4 + 4 * shape.length + data.length);
  out.set([0, 0, 8, shape.length]);
  const view = new DataView(out.buffer);
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(Array.from(data), 4 + 4 * shape.length);
  return out;
}

async function collect(d: ImageDataset, imageSize: number, batchSize: number, signal?: AbortSignal) {
  const out: Array<{ start: number; count: number; data: number[] }> = [];
  for await (const b of datasetBatches(d, imageSize, batchSize, signal)) out.push({ start: b.start, count: b.count, data: Array.from(b.data) });
  return out;
}

// 11 images of 2x3 bytes: pixel j of image i = (i * 7 + j * 3) % 256.
const COUNT = 11, H = 2, W = 3, SIZE = H * W;
const bytes = Array.from({ length: COUNT * SIZE }, (_, t) => ((Math.floor(t / SIZE) * 7 + (t % SIZE) * 3) * 5) % 256);
const scale = 1 / 255;
const floats = Float32Array.from(bytes, (b) => b * scale);
const perImage = Array.from({ length: COUNT }, (_, i) => floats.slice(i * SIZE, (i + 1) * SIZE));

function forms(): Array<[string, ImageDataset]> {
  return [
    ['packed { images, count }', { images: floats, count: COUNT }],
    ['array of images', perImage],
    ['async generator (one-shot)', (async function* () { for (const im of perImage) yield im; })()],
    ['re-iterable async iterable', { async *[Symbol.asyncIterator]() { for (const im of perImage) { await Promise.resolve(); yield im; } } }],
    ['IDX bytes', { idxImages: idx([COUNT, H, W], bytes) }],
    ['gzipped IDX bytes with labels', { idxImages: new Uint8Array(gzipSync(idx([COUNT, H, W], bytes))), idxLabels: idx([COUNT], bytes.slice(0, COUNT)) }],
  ];
}

describe('datasetBatches', () => {
  // The expected batches, written from the definition: images start..start+count-1 back to back.
  const expected = (batchSize: number) => {
    const out = [];
    for (let start = 0; start < COUNT; start += batchSize) {
      const count = Math.min(batchSize, COUNT - start);
      out.push({ start, count, data: Array.from(floats.subarray(start * SIZE, (start + count) * SIZE)) });
    }
    return out;
  };

  for (const batchSize of [4, 11, 32]) {
    it(`every form yields the same batches (batch ${batchSize}, ${Math.ceil(COUNT / batchSize)} batches)`, async () => {
      for (const [name, d] of forms()) {
        expect(await collect(d, SIZE, batchSize), name).toEqual(expected(batchSize));
      }
    });
  }

  it('an empty dataset yields nothing', async () => {
    expect(await collect({ images: new Float32Array(0), count: 0 }, SIZE, 4)).toEqual([]);
    expect(await collect([], SIZE, 4)).toEqual([]);
    expect(await collect((async function* () {})(), SIZE, 4)).toEqual([]);
  });

  it('IDX scale is applied', async () => {
    const [b] = await collect({ idxImages: idx([1, H, W], [0, 1, 2, 3, 4, 255]), scale: 2 }, SIZE, 4);
    expect(b!.data).toEqual([0, 2, 4, 6, 8, 510]);
  });

  it('wrong image sizes and shapes are typed errors naming the numbers', async () => {
    await expect(collect({ images: floats, count: COUNT + 1 }, SIZE, 4)).rejects.toThrow(ShapeError);
    await expect(collect({ images: floats, count: COUNT + 1 }, SIZE, 4)).rejects.toThrow(/66 values are not 12 images of 6 values \(72\)/);
    await expect(collect([perImage[0]!, new Float32Array(5)], SIZE, 4)).rejects.toThrow(/image 1 has 5 values, the model's input image has 6/);
    await expect(collect((async function* () { yield perImage[0]!; yield new Float32Array(7); })(), SIZE, 4)).rejects.toThrow(/image 1 has 7 values/);
    await expect(collect({ idxImages: idx([COUNT, H, W], bytes) }, 5, 4)).rejects.toThrow(/IDX images are \[1,2,3\] = 6 values, the model's input image has 5/);
    await expect(collect({ images: floats, count: COUNT }, SIZE, 0)).rejects.toThrow(OutOfRangeError);
  });

  it('stops with an AbortError when the signal aborts', async () => {
    const ctl = new AbortController();
    const seen: number[] = [];
    const run = (async () => {
      for await (const b of datasetBatches(perImage, SIZE, 2, ctl.signal)) {
        seen.push(b.start);
        if (b.start === 4) ctl.abort();
      }
    })();
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(seen).toEqual([0, 2, 4]);
  });
});

describe('datasetImages, datasetSize, datasetReiterable', () => {
  it('pick the same images from every re-readable form', async () => {
    for (const [name, d] of forms()) {
      if (!datasetReiterable(d)) continue;
      const got = await datasetImages(d, SIZE, [9, 2, 2, 10]);
      expect([...got.keys()].sort((a, b) => a - b), name).toEqual([2, 9, 10]);
      for (const i of [2, 9, 10]) expect(Array.from(got.get(i)!), `${name} image ${i}`).toEqual(Array.from(perImage[i]!));
      await expect(datasetImages(d, SIZE, [COUNT]), name).rejects.toThrow(/image 11 is past the end of a dataset of 11 images/);
    }
  });

  it('know the count without reading, and which forms are one-shot', () => {
    const f = forms();
    expect(f.map(([, d]) => datasetSize(d))).toEqual([COUNT, COUNT, undefined, undefined, COUNT, undefined]);
    expect(f.map(([, d]) => datasetReiterable(d))).toEqual([true, true, false, true, true, true]);
  });
});

describe('loadIdxDataset', () => {
  it('decodes images (3-D and 4-D) and labels', async () => {
    const a = await loadIdxDataset(idx([COUNT, H, W], bytes), idx([COUNT], bytes.slice(0, COUNT)));
    expect(a.count).toBe(COUNT);
    expect(a.shape).toEqual([1, H, W]);
    expect(Array.from(a.images)).toEqual(Array.from(floats));
    expect(Array.from(a.labels!)).toEqual(bytes.slice(0, COUNT));
    const b = await loadIdxDataset(idx([1, 3, 1, 2], bytes.slice(0, 6)), undefined, 1);
    expect(b.shape).toEqual([3, 1, 2]);
    expect(Array.from(b.images)).toEqual(bytes.slice(0, 6));
    expect(b.labels).toBeUndefined();
  });

  it('a label count that differs from the image count is a ShapeError naming both', async () => {
    const run = loadIdxDataset(idx([COUNT, H, W], bytes), idx([COUNT - 1], bytes.slice(0, COUNT - 1)));
    await expect(run).rejects.toThrow(ShapeError);
    await expect(loadIdxDataset(idx([COUNT, H, W], bytes), idx([COUNT - 1], bytes.slice(0, COUNT - 1)))).rejects.toThrow(/10 labels for 11 images/);
    await expect(collect({ idxImages: idx([COUNT, H, W], bytes), idxLabels: idx([3], [1, 2, 3]) }, SIZE, 4)).rejects.toThrow(/3 labels for 11 images/);
    await expect(loadIdxDataset(idx([COUNT, H, W], bytes), idx([COUNT, 1], bytes.slice(0, COUNT)))).rejects.toThrow(/labels must be 1-D/);
    await expect(loadIdxDataset(idx([COUNT * SIZE], bytes))).rejects.toThrow(/must be \[N, H, W\] or \[N, C, H, W\]/);
  });
});

const DIR = '/usr/share/datasets/fashion-mnist';
const IMAGES = `${DIR}/t10k-images-idx3-ubyte.gz`, LABELS = `${DIR}/t10k-labels-idx1-ubyte.gz`;
const present = existsSync(IMAGES) && existsSync(LABELS);
if (!present) console.warn(`test/node/dataset: Fashion-MNIST check skipped, ${DIR} is absent (Debian: apt-get install dataset-fashion-mnist)`);

describe.skipIf(!present)('the Debian Fashion-MNIST test set', () => {
  it('loads 10,000 28x28 images with labels, equal to a node:zlib decode', async () => {
    const imagesGz = new Uint8Array(readFileSync(IMAGES)), labelsGz = new Uint8Array(readFileSync(LABELS));
    const d = await loadIdxDataset(imagesGz, labelsGz);
    expect(d.count).toBe(10000);
    expect(d.shape).toEqual([1, 28, 28]);
    // Independent decode: node:zlib and the header read by hand (magic 0x00000803, then N, H, W big-endian).
    const raw = gunzipSync(readFileSync(IMAGES));
    expect(raw.readUInt32BE(0)).toBe(0x803);
    expect([raw.readUInt32BE(4), raw.readUInt32BE(8), raw.readUInt32BE(12)]).toEqual([10000, 28, 28]);
    expect(d.images.length).toBe(raw.length - 16);
    let mismatches = 0;
    for (let i = 0; i < d.images.length; i++) if (d.images[i] !== Math.fround(raw[16 + i]! / 255)) mismatches++;
    expect(mismatches).toBe(0);
    const labels = gunzipSync(readFileSync(LABELS)).subarray(8);
    expect(Array.from(d.labels!)).toEqual(Array.from(labels));
    // Batches of the real set: 10,000 = 312 * 32 + 16.
    let batches = 0, last = 0, images = 0;
    for await (const b of datasetBatches({ idxImages: imagesGz, idxLabels: labelsGz }, 784, 32)) { batches++; last = b.count; images += b.count; }
    expect([batches, last, images]).toEqual([313, 16, 10000]);
  });
});
