import { defineParams } from './params.js';
import { defineKernel, dispatch1d, flatMain, kernelHeader, read, readWrite, type KernelProgram } from './kernel.js';

// Local response normalisation across channels (ONNX LRN, AlexNet/ZFNet):
//   D[c] = bias + alpha / size * sum_{c' in [c - lo, c + hi]} x[c']^2
//   y[c] = x[c] * D[c]^-beta
// with lo = floor((size - 1) / 2), hi = ceil((size - 1) / 2), clipped to [0, C).
//
// Backward, for g at the output and the forward input x:
//   dx[c] = g[c] D[c]^-beta
//         - 2 alpha beta / size * x[c] * sum_{j : c in window(j)} g[j] x[j] D[j]^(-beta-1)
// where c in [j - lo, j + hi] <=> j in [c - hi, c + lo]. Each invocation
// recomputes the D[j] it needs (size^2 reads) instead of scattering: the
// windows are a handful of channels and no atomics or scratch are needed.

export const WORKGROUP = 256;

/** `plane` = elements per channel (H * W); `scale` = alpha / size. */
export const lrnParams = defineParams({
  total: 'u32', channels: 'u32', plane: 'u32', lo: 'i32', hi: 'i32', scale: 'f32', beta: 'f32', bias: 'f32',
});

/** D of channel c at the spatial position whose channel 0 is at base. */
const denomFn = `
fn denom(base: u32, c: i32) -> f32 {
  var ss = 0.0;
  let last = min(c + p.hi, i32(p.channels) - 1);
  for (var j = max(c - p.lo, 0); j <= last; j++) {
    let v = x[base + u32(j) * p.plane];
    ss += v * v;
  }
  return p.bias + p.scale * ss;
}`;

const forwardMain = flatMain(WORKGROUP, 'p.total', `  let c = (i / p.plane) % p.channels;
  let base = i - c * p.plane;
  y[i] = x[i] * pow(denom(base, i32(c)), -p.beta);`);

const backwardMain = flatMain(WORKGROUP, 'p.total', `  let cu = (i / p.plane) % p.channels;
  let c = i32(cu);
  let base = i - cu * p.plane;

  var cross = 0.0;
  let last = min(c + p.lo, i32(p.channels) - 1);
  for (var j = max(c - p.hi, 0); j <= last; j++) {
    let at = base + u32(j) * p.plane;
    cross += g[at] * x[at] * pow(denom(base, j), -p.beta - 1.0);
  }
  dx[i] = g[i] * pow(denom(base, c), -p.beta) - 2.0 * p.scale * p.beta * x[i] * cross;`);

const lrnKernel = defineKernel('lrn', ({ backward }: { backward: boolean }) => `
${kernelHeader(lrnParams, backward ? [read('g'), read('x'), readWrite('dx')] : [read('x'), readWrite('y')])}
${denomFn}
${backward ? backwardMain : forwardMain}
`);

/** Buffers [x, y] (forward) or [g, x, dx] (backward, x the forward input); `total` elements. */
export function lrnProgram(backward: boolean, params: ArrayBuffer, total: number): KernelProgram {
  return lrnKernel.program({ backward }, params, dispatch1d(total, WORKGROUP), backward ? 'lrn backward' : 'lrn');
}
