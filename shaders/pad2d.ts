import { defineParams } from './params.js';
import { defineKernel, flatMain, kernelHeader, read, readWrite } from './kernel.js';
import { INPUT_PIXEL, OUTPUT_PIXEL } from './pixel.js';

// Spatial padding of NCHW tensors and its gradient. Output row oy reads input
// row p = oy - top; p outside [0, H) is the constant, the mirror image about
// the edge row (reflect, edge row not repeated) or the edge row itself. A
// negative pad makes p start inside the input, i.e. crops, in every mode.
//
// Backward gathers, per input element, every output position that read it:
// constant: the one at p = iy (if not cropped away);
// reflect:  p = iy, its mirror -iy (iy > 0) and 2 (H - 1) - iy (iy < H - 1);
// edge:     the run of p that clamps to iy (the whole pad for a border row).
// Rows and columns are independent, so the sum is over their product.

export const WORKGROUP = 256;

export type PadMode = 'constant' | 'reflect' | 'edge';

export const padParams = defineParams({
  total: 'u32', H: 'i32', W: 'i32', OH: 'i32', OW: 'i32',
  top: 'i32', left: 'i32', bottom: 'i32', right: 'i32', value: 'f32',
});

/** Output row oy reads input row q = oy - top: where it lies in the input, per mode (constant: not used). */
const SOURCE_FN: Record<PadMode, string> = {
  constant: '',
  reflect: `fn source(q: i32, n: i32) -> i32 {
  if (q < 0) { return -q; }
  if (q >= n) { return 2 * (n - 1) - q; }
  return q;
}`,
  edge: `fn source(q: i32, n: i32) -> i32 {
  return clamp(q, 0, n - 1);
}`,
};

export function pad2dShader(mode: PadMode): string {
  const store = mode === 'constant'
    ? `  if (qy < 0 || qy >= p.H || qx < 0 || qx >= p.W) {
    y[i] = p.value;
  } else {
    y[i] = x[base + u32(qy * p.W + qx)];
  }`
    : '  y[i] = x[base + u32(source(qy, p.H) * p.W + source(qx, p.W))];';
  return `
${kernelHeader(padParams, [read('x'), readWrite('y')])}
${SOURCE_FN[mode]}

${flatMain(WORKGROUP, 'p.total', `${OUTPUT_PIXEL}
  let qx = ox - p.left;
  let qy = oy - p.top;
${store}`)}
`;
}

/** Candidate k (0..2) of the padded positions that mirror to index v of an axis of n, or a position that is never inside the output. */
const MIRROR_FN = `fn mirror(v: i32, n: i32, k: i32) -> i32 {
  if (k == 0) { return v; }
  if (k == 1) { return select(-1000000000, -v, v > 0); }
  return select(-1000000000, 2 * (n - 1) - v, v < n - 1);
}`;

/** dx[i] for input pixel (ix, iy): the sum of g over the output positions that read it. */
const GATHER: Record<PadMode, string> = {
  constant: `  let oy = iy + p.top;
  let ox = ix + p.left;
  if (oy < 0 || oy >= p.OH || ox < 0 || ox >= p.OW) {
    dx[i] = 0.0;
  } else {
    dx[i] = g[outBase + u32(oy * p.OW + ox)];
  }`,
  reflect: `  var acc = 0.0;
  for (var ky = 0; ky < 3; ky++) {
    let oy = mirror(iy, p.H, ky) + p.top;
    if (oy < 0 || oy >= p.OH) { continue; }
    for (var kx = 0; kx < 3; kx++) {
      let ox = mirror(ix, p.W, kx) + p.left;
      if (ox < 0 || ox >= p.OW) { continue; }
      acc += g[outBase + u32(oy * p.OW + ox)];
    }
  }
  dx[i] = acc;`,
  edge: `  // A border row collects every padded row beyond it.
  let y0 = max(select(iy, -p.top, iy == 0) + p.top, 0);
  let y1 = min(select(iy, p.H - 1 + p.bottom, iy == p.H - 1) + p.top, p.OH - 1);
  let x0 = max(select(ix, -p.left, ix == 0) + p.left, 0);
  let x1 = min(select(ix, p.W - 1 + p.right, ix == p.W - 1) + p.left, p.OW - 1);
  var acc = 0.0;
  for (var oy = y0; oy <= y1; oy++) {
    for (var ox = x0; ox <= x1; ox++) {
      acc += g[outBase + u32(oy * p.OW + ox)];
    }
  }
  dx[i] = acc;`,
};

export function pad2dBackwardShader(mode: PadMode): string {
  return `
${kernelHeader(padParams, [read('g'), readWrite('dx')])}
${mode === 'reflect' ? MIRROR_FN : ''}

${flatMain(WORKGROUP, 'p.total', `${INPUT_PIXEL}
${GATHER[mode]}`)}
`;
}

/** Program factory (shaders/kernel.ts): the pipeline key is derived from the spec. */
export const pad2dKernel = defineKernel('pad2d', (s: { mode: PadMode }) => pad2dShader(s.mode));

/** Program factory (shaders/kernel.ts): the pipeline key is derived from the spec. */
export const pad2dBackwardKernel = defineKernel('pad2d-backward', (s: { mode: PadMode }) => pad2dBackwardShader(s.mode));
