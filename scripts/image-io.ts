// Pictures in and out of the command-line analyses, in either host of their
// `main`s (Node on Dawn, or a Chromium page; see scripts/node-gpu.ts):
// decoding PNG/JPEG into model inputs, and writing RGBA pictures as PNG.
// Node decodes PNG with pngjs; it has no JPEG decoder installed (the page
// decodes both), so runOnHost sends JPEG folders to Chromium.
import { FormatError, ShapeError, preprocessRgba, UNIT_RANGE, type Preprocessing } from '../src/index.js';
import type { RgbaImage } from '../src/render/image.js';
import { nodeImport } from './page-io.js';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export const isPng = (bytes: Uint8Array) => PNG_SIGNATURE.every((b, i) => bytes[i] === b);

/** Whether this host can decode the file (Node: PNG only). */
export function decodable(name: string): boolean {
  return typeof createImageBitmap === 'function' || /\.png$/i.test(name);
}

/** The picture's RGBA bytes: createImageBitmap in a page, pngjs in Node. */
export async function decodeImage(bytes: Uint8Array, name: string): Promise<RgbaImage> {
  if (typeof createImageBitmap === 'function') {
    let bitmap: ImageBitmap;
    try {
      bitmap = await createImageBitmap(new Blob([bytes as BlobPart]));
    } catch {
      throw new FormatError(`${name}: not an image this browser can decode`);
    }
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const context = canvas.getContext('2d')!;
    context.drawImage(bitmap, 0, 0);
    return { width: bitmap.width, height: bitmap.height, data: context.getImageData(0, 0, bitmap.width, bitmap.height).data };
  }
  if (!isPng(bytes)) throw new FormatError(`${name}: only PNG decodes in Node (no JPEG decoder is installed); run with --host chromium`);
  const { PNG } = await nodeImport<typeof import('pngjs')>('pngjs');
  try {
    const png = PNG.sync.read(Buffer.from(bytes));
    return { width: png.width, height: png.height, data: new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
  } catch (e) {
    throw new FormatError(`${name}: not a valid PNG (${(e as Error).message})`);
  }
}

/** Bilinear resampling of RGBA pixels to width x height (pixel centres aligned). */
export function resizeRgba(image: RgbaImage, width: number, height: number): RgbaImage {
  if (image.width === width && image.height === height) return image;
  const out = new Uint8ClampedArray(width * height * 4);
  const sx = image.width / width, sy = image.height / height;
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), image.height - 1);
    const y0 = Math.floor(fy), y1 = Math.min(y0 + 1, image.height - 1), wy = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), image.width - 1);
      const x0 = Math.floor(fx), x1 = Math.min(x0 + 1, image.width - 1), wx = fx - x0;
      for (let c = 0; c < 4; c++) {
        const at = (yy: number, xx: number) => image.data[(yy * image.width + xx) * 4 + c]!;
        const top = at(y0, x0) * (1 - wx) + at(y0, x1) * wx;
        const bottom = at(y1, x0) * (1 - wx) + at(y1, x1) * wx;
        out[(y * width + x) * 4 + c] = top * (1 - wy) + bottom * wy;
      }
    }
  }
  return { width, height, data: out };
}

/** A model input [C, H, W] from an image file: decoded, resized to the model's H x W, normalised. */
export async function imageToInput(bytes: Uint8Array, name: string, inputShape: readonly number[], preprocessing: Preprocessing = UNIT_RANGE): Promise<Float32Array> {
  if (inputShape.length !== 3 || (inputShape[0] !== 1 && inputShape[0] !== 3)) {
    throw new ShapeError(`${name}: the model takes [${inputShape}], not an image [1 or 3, H, W]`);
  }
  const [channels, height, width] = inputShape as [1 | 3, number, number];
  const image = resizeRgba(await decodeImage(bytes, name), width, height);
  return preprocessRgba(image.data, width, height, channels, preprocessing);
}

// ---- PNG writing: stored (uncompressed) deflate blocks, the same bytes in either host.

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** zlib stream of `raw` in stored blocks (at most 65535 bytes each). */
function zlibStored(raw: Uint8Array): Uint8Array {
  const blocks = Math.max(1, Math.ceil(raw.length / 65535));
  const out = new Uint8Array(2 + raw.length + 5 * blocks + 4);
  out[0] = 0x78; out[1] = 0x01;
  let at = 2;
  for (let b = 0; b < blocks; b++) {
    const part = raw.subarray(b * 65535, Math.min(raw.length, (b + 1) * 65535));
    out[at] = b === blocks - 1 ? 1 : 0;
    out[at + 1] = part.length & 0xff; out[at + 2] = part.length >>> 8;
    out[at + 3] = ~part.length & 0xff; out[at + 4] = (~part.length >>> 8) & 0xff;
    out.set(part, at + 5);
    at += 5 + part.length;
  }
  let s1 = 1, s2 = 0;
  for (const v of raw) { s1 = (s1 + v) % 65521; s2 = (s2 + s1) % 65521; }
  new DataView(out.buffer).setUint32(at, ((s2 << 16) | s1) >>> 0);
  return out;
}

/** An 8-bit RGBA PNG file of the picture. */
export function encodePng(image: RgbaImage): Uint8Array {
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, image.width);
  view.setUint32(4, image.height);
  header.set([8, 6, 0, 0, 0], 8);
  const row = image.width * 4;
  const raw = new Uint8Array((row + 1) * image.height);
  for (let y = 0; y < image.height; y++) raw.set(image.data.subarray(y * row, (y + 1) * row), y * (row + 1) + 1);
  const parts = [Uint8Array.from(PNG_SIGNATURE), chunk('IHDR', header), chunk('IDAT', zlibStored(raw)), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** Pictures side by side in a row of `columns` (wrapping), on a dark background, `gap` pixels apart. */
export function tileImages(images: RgbaImage[], columns: number, gap = 2): RgbaImage {
  const cellW = Math.max(1, ...images.map((i) => i.width)), cellH = Math.max(1, ...images.map((i) => i.height));
  const cols = Math.max(1, Math.min(columns, images.length)), rows = Math.max(1, Math.ceil(images.length / cols));
  const width = cols * cellW + (cols + 1) * gap, height = rows * cellH + (rows + 1) * gap;
  const data = new Uint8ClampedArray(width * height * 4).fill(32);
  for (let p = 3; p < data.length; p += 4) data[p] = 255;
  images.forEach((img, i) => {
    const x0 = gap + (i % cols) * (cellW + gap), y0 = gap + Math.floor(i / cols) * (cellH + gap);
    for (let y = 0; y < img.height; y++) data.set(img.data.subarray(y * img.width * 4, (y + 1) * img.width * 4), ((y0 + y) * width + x0) * 4);
  });
  return { width, height, data };
}

/** Each pixel as a factor x factor block (small maps made visible). */
export function enlarge(image: RgbaImage, factor: number): RgbaImage {
  const f = Math.max(1, Math.floor(factor));
  const width = image.width * f, height = image.height * f;
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const from = (Math.floor(y / f) * image.width + Math.floor(x / f)) * 4;
      data.set(image.data.subarray(from, from + 4), (y * width + x) * 4);
    }
  }
  return { width, height, data };
}
