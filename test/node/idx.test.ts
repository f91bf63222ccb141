import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { parseIdx, gunzip, ShapeError } from '../../src/index.js';

function idx(shape: number[], data: number[]): Uint8Array {
  const out = new Uint8Array(4 + 4 * shape.length + data.length);
  out.set([0, 0, 8, shape.length]);
  const view = new DataView(out.buffer);
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * shape.length);
  return out;
}

describe('parseIdx', () => {
  it('reads shape and bytes', () => {
    const parsed = parseIdx(idx([2, 1, 3], [1, 2, 3, 4, 5, 6]));
    expect(parsed.shape).toEqual([2, 1, 3]);
    expect(Array.from(parsed.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('rejects truncated, padded, wrong-type and non-IDX files with a typed error', () => {
    const good = idx([2, 3], [1, 2, 3, 4, 5, 6]);
    expect(() => parseIdx(good.subarray(0, good.length - 1), 'f.idx')).toThrow(/f.idx: header says \[2,3\] = 6 bytes of data, the file has 5/);
    expect(() => parseIdx(new Uint8Array([...good, 0]))).toThrow(ShapeError);
    expect(() => parseIdx(new Uint8Array([0, 0, 0x0d, 1, 0, 0, 0, 0]))).toThrow(/element type 0xd/);
    expect(() => parseIdx(new Uint8Array([80, 75, 3, 4, 0]))).toThrow(/not an IDX file/);
    expect(() => parseIdx(new Uint8Array([0, 0, 8, 3, 0]))).toThrow(/truncated header/);
  });

  const file = '/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz';
  it.skipIf(!existsSync(file))('reads the Debian Fashion-MNIST test labels (gzip)', async () => {
    const labels = parseIdx(await gunzip(new Uint8Array(readFileSync(file))), file);
    expect(labels.shape).toEqual([10000]);
    const counts = new Array(10).fill(0);
    for (const l of labels.data) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(1000));
  });
});
