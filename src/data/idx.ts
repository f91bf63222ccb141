// The IDX format of MNIST / Fashion-MNIST (big-endian header: 0x00 0x00
// type ndim, then ndim u32 sizes, then the data). DOM-free.
import { ShapeError } from '../gpu/errors.js';

export interface IdxArray {
  shape: number[];
  data: Uint8Array;
}

/** Parses an (already decompressed) IDX file of unsigned bytes. `name` goes into error messages. */
export function parseIdx(bytes: Uint8Array, name = 'IDX file'): IdxArray {
  if (bytes.length < 4) throw new ShapeError(`${name}: ${bytes.length} bytes is too short for an IDX header`);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) throw new ShapeError(`${name}: gzip data, decompress it first (see gunzip)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) throw new ShapeError(`${name}: not an IDX file (magic ${bytes[0]}, ${bytes[1]})`);
  if (bytes[2] !== 0x08) throw new ShapeError(`${name}: IDX element type 0x${bytes[2]!.toString(16)} is not unsigned byte (0x08)`);
  const ndim = bytes[3]!;
  const headerBytes = 4 + 4 * ndim;
  if (ndim === 0 || bytes.length < headerBytes) throw new ShapeError(`${name}: truncated header (${ndim} dimensions, ${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = Array.from({ length: ndim }, (_, i) => view.getUint32(4 + 4 * i, false));
  const count = shape.reduce((a, b) => a * b, 1);
  if (bytes.length !== headerBytes + count) {
    throw new ShapeError(`${name}: header says [${shape}] = ${count} bytes of data, the file has ${bytes.length - headerBytes}`);
  }
  return { shape, data: bytes.subarray(headerBytes) };
}

/** Decompresses gzip data with the platform's DecompressionStream (browsers, Node 18+); other data passes through. */
export async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];
