import { defineParams } from './params.js';
import { defineKernel, dispatch1d, flatMain, kernelHeader, read, readWrite, type KernelProgram } from './kernel.js';

// 2-D resize (ONNX Resize / Upsample, Keras UpSampling2D) of NCHW maps,
// nearest or bilinear, separable: each output row oy reads input rows
// i0(oy), i1(oy) with weights 1 - w(oy), w(oy) (nearest: i0 = i1, w = 0), and
// likewise for columns. Those per-axis taps come from a table the host builds
// once per layer (every coordinate transformation and rounding mode is then
// the same kernel):
//
//   taps:   [outH x (i0, i1, w)] then [outW x (i0, i1, w)]
//   ranges: [inH x (first, end)] then [inW x (first, end)]: the outputs whose
//           taps touch each input row / column (contiguous, as the taps are
//           monotone in the output index).
//
// The backward (the transpose of the interpolation) is a gather, no atomics:
// each input pixel sums, over the outputs in its row and column ranges,
// g times the weight with which that output read it.

export const WORKGROUP = 256;

/** Offsets (in floats) of the four parts of the table. */
export const resizeParams = defineParams({
  total: 'u32', H: 'u32', W: 'u32', OH: 'u32', OW: 'u32',
  tapsY: 'u32', tapsX: 'u32', rangeY: 'u32', rangeX: 'u32',
});

const forwardMain = flatMain(WORKGROUP, 'p.total', `  let ox = i % p.OW;
  let oy = (i / p.OW) % p.OH;
  let plane = (i / (p.OW * p.OH)) * p.H * p.W;
  let ty = p.tapsY + oy * 3u;
  let tx = p.tapsX + ox * 3u;
  let y0 = u32(table[ty]); let y1 = u32(table[ty + 1u]); let wy = table[ty + 2u];
  let x0 = u32(table[tx]); let x1 = u32(table[tx + 1u]); let wx = table[tx + 2u];
  let top = (1.0 - wx) * x[plane + y0 * p.W + x0] + wx * x[plane + y0 * p.W + x1];
  let bottom = (1.0 - wx) * x[plane + y1 * p.W + x0] + wx * x[plane + y1 * p.W + x1];
  y[i] = (1.0 - wy) * top + wy * bottom;`);

const backwardMain = `
/** The weight with which output tap entry t (i0, i1, w) reads input index k. */
fn weight(t: u32, k: u32) -> f32 {
  let w = table[t + 2u];
  return select(0.0, 1.0 - w, u32(table[t]) == k) + select(0.0, w, u32(table[t + 1u]) == k);
}

${flatMain(WORKGROUP, 'p.total', `  let ix = i % p.W;
  let iy = (i / p.W) % p.H;
  let plane = (i / (p.W * p.H)) * p.OH * p.OW;
  let yFirst = u32(table[p.rangeY + iy * 2u]); let yEnd = u32(table[p.rangeY + iy * 2u + 1u]);
  let xFirst = u32(table[p.rangeX + ix * 2u]); let xEnd = u32(table[p.rangeX + ix * 2u + 1u]);
  var acc = 0.0;
  for (var oy = yFirst; oy < yEnd; oy++) {
    let wy = weight(p.tapsY + oy * 3u, iy);
    var row = 0.0;
    for (var ox = xFirst; ox < xEnd; ox++) {
      row += weight(p.tapsX + ox * 3u, ix) * g[plane + oy * p.OW + ox];
    }
    acc += wy * row;
  }
  dx[i] = acc;`)}`;

const resizeKernel = defineKernel('resize2d', ({ backward }: { backward: boolean }) => `
${kernelHeader(resizeParams, backward ? [read('g'), readWrite('dx'), read('table')] : [read('x'), readWrite('y'), read('table')])}
${backward ? backwardMain : forwardMain}
`);

/** Buffers [x, y, table] (forward) or [g, dx, table] (backward); `total` elements written. */
export function resizeProgram(backward: boolean, values: Parameters<typeof resizeParams.pack>[0]): KernelProgram {
  const label = backward ? 'resize2d backward' : 'resize2d';
  return resizeKernel.program({ backward }, resizeParams.pack(values), dispatch1d(values.total, WORKGROUP), label);
}
