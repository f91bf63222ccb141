// The DOM side of rendering: needs a document (a page, not a worker or Node).
import type { RgbaImage } from './image.js';

/** Draws `image` into `canvas`, scaled by an integer factor with crisp pixels. */
export function drawImage(canvas: HTMLCanvasElement, image: RgbaImage, scale = 1): void {
  canvas.width = image.width * scale;
  canvas.height = image.height * scale;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('drawImage: no 2d context');
  const source = document.createElement('canvas');
  source.width = image.width;
  source.height = image.height;
  source.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(image.data), image.width, image.height), 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(source, 0, 0, canvas.width, canvas.height);
}

/** Decodes an image file/URL into a [1, channels, height, width] Float32Array in [0, 1], resized to the given size. */
export async function imageToTensorData(source: Blob | string, size: { width: number; height: number; channels: 1 | 3 }): Promise<Float32Array> {
  const blob = typeof source === 'string' ? await (await fetch(source)).blob() : source;
  const bitmap = await createImageBitmap(blob);
  const canvas = document.createElement('canvas');
  canvas.width = size.width;
  canvas.height = size.height;
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(bitmap, 0, 0, size.width, size.height);
  const { data } = ctx.getImageData(0, 0, size.width, size.height);
  const plane = size.width * size.height;
  const out = new Float32Array(size.channels * plane);
  for (let p = 0; p < plane; p++) {
    if (size.channels === 1) {
      out[p] = (0.299 * data[p * 4]! + 0.587 * data[p * 4 + 1]! + 0.114 * data[p * 4 + 2]!) / 255;
    } else {
      for (let c = 0; c < 3; c++) out[c * plane + p] = data[p * 4 + c]! / 255;
    }
  }
  return out;
}
