import { defineParams } from './params.js';
import { defineKernel, dispatch1d, flatMain, kernelHeader, read, readWrite, type KernelProgram } from './kernel.js';

// Makes a batch of masked copies of images already on the GPU, so an
// occlusion or correspondence experiment uploads each image once and never
// builds its hundreds of copies on the CPU. Copy n is a source image with
// one axis-aligned rectangle set to `fill` in every channel.
//
// Two ways to say where the rectangle is:
//   grid:  copy n is position `first + n` of a row-major grid of
//          `size` x `size` squares with top-left (r * stride, c * stride),
//          `cols` per row; the source is image 0 (occlusion sensitivity).
//   boxes: copy n reads 5 u32 from `boxes`: source image, top, left, height,
//          width (correspondence: each image with its own mask; height 0
//          leaves the copy unmasked).

export const WORKGROUP = 256;

export type OccludeVariant = 'grid' | 'boxes';

/** `count` = copies * channels * height * width. */
export const occludeParams = defineParams({
  count: 'u32', channels: 'u32', height: 'u32', width: 'u32',
  first: 'u32', cols: 'u32', stride: 'u32', size: 'u32', fill: 'f32',
});

// Where copy n's rectangle is, and which image it copies.
const RECTANGLE: Record<OccludeVariant, string> = {
  grid: `  let position = p.first + n;
  let image = 0u;
  let top = (position / p.cols) * p.stride;
  let left = (position % p.cols) * p.stride;
  let h = p.size;
  let w = p.size;`,
  boxes: `  let image = boxes[5u * n];
  let top = boxes[5u * n + 1u];
  let left = boxes[5u * n + 2u];
  let h = boxes[5u * n + 3u];
  let w = boxes[5u * n + 4u];`,
};

const occludeKernel = defineKernel('occlude', ({ variant }: { variant: OccludeVariant }) => `
${kernelHeader(occludeParams, [read('src'), readWrite('dst'), variant === 'boxes' && read('boxes', 'array<u32>')])}
${flatMain(WORKGROUP, 'p.count', `  let x = i % p.width;
  let y = (i / p.width) % p.height;
  let c = (i / (p.width * p.height)) % p.channels;
  let n = i / (p.width * p.height * p.channels);
${RECTANGLE[variant]}
  let inside = y >= top && y < top + h && x >= left && x < left + w;
  let v = src[((image * p.channels + c) * p.height + y) * p.width + x];
  dst[i] = select(v, p.fill, inside);`)}
`);

/** Buffers [src, dst] (grid) or [src, dst, boxes] (boxes); `count` elements written. */
export function occludeProgram(variant: OccludeVariant, values: Parameters<typeof occludeParams.pack>[0]): KernelProgram {
  return occludeKernel.program({ variant }, occludeParams.pack(values), dispatch1d(values.count, WORKGROUP), `occlude (${variant})`);
}
