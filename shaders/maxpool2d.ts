import { defineParams } from './params.js';
import { defineKernel, flatMain, kernelHeader, read, readWrite } from './kernel.js';
import { OUTPUT_PIXEL } from './pixel.js';

// Max pooling that also records its switches (Zeiler & Fergus 2014): for each
// output, the flat position iy * W + ix of the chosen input inside its (n, c)
// plane. One invocation per output element; the work is memory-bound.
//
// Padding never wins: taps outside the input are skipped, and the first tap
// inside the input seeds the maximum (geometry validation guarantees every
// window has one), so no -inf sentinel is needed. Later taps replace it only
// when strictly larger, so ties go to the first position in row-major (ky, kx)
// order, as in PyTorch. A NaN wins outright and stops the scan: the value is
// NaN and the switch points at the first NaN of the window.

export const WORKGROUP = 256;

/** Geometry fields shared by every pooling kernel (max, unpool, average). */
export const POOL_FIELDS = {
  total: 'u32', H: 'i32', W: 'i32', OH: 'i32', OW: 'i32',
  kH: 'i32', kW: 'i32', sH: 'i32', sW: 'i32', dH: 'i32', dW: 'i32',
  padTop: 'i32', padLeft: 'i32', padBottom: 'i32', padRight: 'i32',
} as const;

export const maxPoolParams = defineParams(POOL_FIELDS);

/**
 * WGSL may assume floats are never NaN, so `v != v` can be folded away; the
 * bit pattern test cannot.
 */
export const IS_NAN_FN = `fn isNan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }`;

/**
 * 'element': one invocation per output (GPUs). 'row': one invocation per
 * output row (n, c, oy) looping over its OW outputs, for CPU adapters
 * (SwiftShader), where the cost is per invocation; `total` then counts rows.
 */
export type PoolVariant = 'element' | 'row';

export function maxPool2dShader(variant: PoolVariant = 'element'): string {
  const row = variant === 'row';
  // o: the output element; a 'row' invocation (i counts rows) visits the OW outputs of its row.
  const outputs = row ? `  let ow = u32(p.OW);
  let oh = u32(p.OH);
  let oy = i32(i % oh);
  let base = (i / oh) * u32(p.H * p.W);
  for (var oxu = 0u; oxu < ow; oxu++) {
    let o = i * ow + oxu;
    let ox = i32(oxu);` : `${OUTPUT_PIXEL}
  {
    let o = i;`;
  return `
${kernelHeader(maxPoolParams, [read('x'), readWrite('y'), readWrite('switches', 'array<u32>')])}
${IS_NAN_FN}

${flatMain(row ? 64 : WORKGROUP, 'p.total', `${outputs}
    let y0 = oy * p.sH - p.padTop;
    let x0 = ox * p.sW - p.padLeft;
    var best = 0.0;
    var arg = -1;
    var sawNan = false;
    for (var ky = 0; ky < p.kH && !sawNan; ky++) {
      let iy = y0 + ky * p.dH;
      if (iy < 0 || iy >= p.H) { continue; }
      for (var kx = 0; kx < p.kW; kx++) {
        let ix = x0 + kx * p.dW;
        if (ix < 0 || ix >= p.W) { continue; }
        let at = iy * p.W + ix;
        let v = x[base + u32(at)];
        if (isNan(v)) { arg = at; sawNan = true; break; }
        if (arg < 0 || v > best) { best = v; arg = at; }
      }
    }
    // Copied from the input rather than taken from best, so a NaN keeps its bits.
    y[o] = x[base + u32(arg)];
    switches[o] = u32(arg);
  }`)}
`;
}

/**
 * The walk of a gather over the pooling windows: for input pixel (ix, iy)
 * (after INPUT_PIXEL), every window (oy, ox) one of whose taps (ky, kx) lands on it,
 * with o its element in the output; `body` runs once per such tap.
 */
export function windowsReaching(body: string): string {
  return `  for (var ky = 0; ky < p.kH; ky++) {
    // The window whose tap ky lands on row iy starts at row iy - ky * dH.
    let ty = iy + p.padTop - ky * p.dH;
    if (ty < 0 || ty % p.sH != 0 || ty / p.sH >= p.OH) { continue; }
    let oy = ty / p.sH;
    for (var kx = 0; kx < p.kW; kx++) {
      let tx = ix + p.padLeft - kx * p.dW;
      if (tx < 0 || tx % p.sW != 0 || tx / p.sW >= p.OW) { continue; }
      let ox = tx / p.sW;
      let o = outBase + u32(oy * p.OW + ox);
${body}
    }
  }`;
}

/** Program factory (shaders/kernel.ts): the pipeline key is derived from the spec. */
export const maxPool2dKernel = defineKernel('maxpool2d', (s: { variant: PoolVariant }) => maxPool2dShader(s.variant));
