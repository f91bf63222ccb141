import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { defineParams } from './params.js';
import { POOL_FIELDS, WORKGROUP, windowsReaching } from './maxpool2d.js';
import { defineKernel, flatMain, kernelHeader, read, readWrite } from './kernel.js';
import { INPUT_PIXEL, OUTPUT_PIXEL } from './pixel.js';

// Average pooling and its gradient. The divisor counts the window's taps that
// fall inside the input (ONNX default), or, with count_include_pad, inside the
// padded input [-padTop, H + padBottom): taps that a ceil-mode window pushes
// past the padding never count (PyTorch). The backward pass is a gather: one
// invocation per input element finds the windows containing it through the
// same (ky, kx) walk as unpooling and adds g / divisor of each.

export { WORKGROUP };

export const avgPoolParams = defineParams(POOL_FIELDS);

function divisorFn(countIncludePad: boolean): string {
  return wgsl`
fn tapsInside(start: i32, k: i32, d: i32, lo: i32, hi: i32) -> i32 {
  var n = 0;
  for (var t = 0; t < k; t++) {
    let q = start + t * d;
    if (q >= lo && q < hi) { n++; }
  }
  return n;
}

fn divisor(y0: i32, x0: i32) -> f32 {
#if ${countIncludePad}
  let rows = tapsInside(y0, p.kH, p.dH, -p.padTop, p.H + p.padBottom);
  let cols = tapsInside(x0, p.kW, p.dW, -p.padLeft, p.W + p.padRight);
#else
  let rows = tapsInside(y0, p.kH, p.dH, 0, p.H);
  let cols = tapsInside(x0, p.kW, p.dW, 0, p.W);
#endif
  return f32(rows * cols);
}`;
}

export function avgPool2dShader(countIncludePad: boolean): string {
  return `
${kernelHeader(avgPoolParams, [read('x'), readWrite('y')])}
${divisorFn(countIncludePad)}

${flatMain(WORKGROUP, 'p.total', `${OUTPUT_PIXEL}
  let y0 = oy * p.sH - p.padTop;
  let x0 = ox * p.sW - p.padLeft;

  var sum = 0.0;
  for (var ky = 0; ky < p.kH; ky++) {
    let iy = y0 + ky * p.dH;
    if (iy < 0 || iy >= p.H) { continue; }
    for (var kx = 0; kx < p.kW; kx++) {
      let ix = x0 + kx * p.dW;
      if (ix < 0 || ix >= p.W) { continue; }
      sum += x[base + u32(iy * p.W + ix)];
    }
  }
  y[i] = sum / divisor(y0, x0);`)}
`;
}

export function avgPool2dBackwardShader(countIncludePad: boolean): string {
  return `
${kernelHeader(avgPoolParams, [read('g'), readWrite('dx')])}
${divisorFn(countIncludePad)}

${flatMain(WORKGROUP, 'p.total', `${INPUT_PIXEL}
  var acc = 0.0;
${windowsReaching('      acc += g[o] / divisor(oy * p.sH - p.padTop, ox * p.sW - p.padLeft);')}
  dx[i] = acc;`)}
`;
}

/** Program factory (shaders/kernel.ts): the pipeline key is derived from the spec. */
export const avgPool2dKernel = defineKernel('avgpool2d', (s: { countIncludePad: boolean }) => avgPool2dShader(s.countIncludePad));

/** Program factory (shaders/kernel.ts): the pipeline key is derived from the spec. */
export const avgPool2dBackwardKernel = defineKernel('avgpool2d-backward', (s: { countIncludePad: boolean }) => avgPool2dBackwardShader(s.countIncludePad));
