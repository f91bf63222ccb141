import { defineParams } from './params.js';
import { defineKernel, dispatch1d, flatMain, kernelHeader, read, readWrite, type KernelProgram } from './kernel.js';

// A batch of affinely transformed copies of one image on the GPU
// (translation, scaling, rotation for the invariance curves of Zeiler &
// Fergus Fig. 5), so the image is uploaded once and each copy costs only its
// own 6 floats.
//
// Inverse mapping: each output pixel (x, y), at integer pixel-centre
// coordinates, asks where it came from: sx = m0 x + m1 y + m2,
// sy = m3 x + m4 y + m5, with copy n's matrix at matrices[6 (first + n)].
// The value there is sampled bilinearly from the 4 surrounding pixels; a
// neighbour outside the image counts as `fill` (constant border), which
// keeps the sampling continuous as the point crosses the edge. An integer
// translation hits pixel centres exactly (weights 1, 0, 0, 0), so it gives
// the shifted image bit for bit.

export const WORKGROUP = 256;

/** `count` = copies * channels * height * width. */
export const affineWarpParams = defineParams({
  count: 'u32', channels: 'u32', height: 'u32', width: 'u32', first: 'u32', fill: 'f32',
});

const affineWarpKernel = defineKernel('affine-warp', () => `
${kernelHeader(affineWarpParams, [read('src'), read('matrices'), readWrite('dst')])}

// The source pixel (ix, iy) of channel plane 'base', or the fill outside the image.
// The range test is done in floating point so far-away points never overflow an integer.
fn pixel(base: u32, fx: f32, fy: f32) -> f32 {
  if (fx < 0.0 || fy < 0.0 || fx > f32(p.width - 1u) || fy > f32(p.height - 1u)) { return p.fill; }
  return src[base + u32(fy) * p.width + u32(fx)];
}

${flatMain(WORKGROUP, 'p.count', `  let x = f32(i % p.width);
  let y = f32((i / p.width) % p.height);
  let c = (i / (p.width * p.height)) % p.channels;
  let n = i / (p.width * p.height * p.channels);
  let m = 6u * (p.first + n);
  let sx = matrices[m] * x + matrices[m + 1u] * y + matrices[m + 2u];
  let sy = matrices[m + 3u] * x + matrices[m + 4u] * y + matrices[m + 5u];
  let x0 = floor(sx);
  let y0 = floor(sy);
  let ax = sx - x0;
  let ay = sy - y0;
  let base = c * p.height * p.width;
  let top = (1.0 - ax) * pixel(base, x0, y0) + ax * pixel(base, x0 + 1.0, y0);
  let bottom = (1.0 - ax) * pixel(base, x0, y0 + 1.0) + ax * pixel(base, x0 + 1.0, y0 + 1.0);
  dst[i] = (1.0 - ay) * top + ay * bottom;`)}
`);

/** Buffers [src, matrices, dst]. */
export function affineWarpProgram(values: Parameters<typeof affineWarpParams.pack>[0]): KernelProgram {
  return affineWarpKernel.program(undefined, affineWarpParams.pack(values), dispatch1d(values.count, WORKGROUP), 'affine warp');
}
