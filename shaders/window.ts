import { defineParams, type ScalarType } from './params.js';
import { defineKernel, flatMain, kernelHeader, read, readWrite, type Binding } from './kernel.js';

// Sparse projection windows (src/ops/window.ts). A projection that starts
// from one activation per image only reaches a window of each layer's map:
// its size is static per layer, its origin follows from the seed position,
// which is on the GPU (position 'max' is chosen there). Every kernel here
// reads the chosen flat index y*topW+x of image n from `chosen` and places
// the window of a level at
//   origin = (y, x) * (aH, aW) - (bH, bW)
// in the full map of that level; window positions outside the map hold 0.

export const WORKGROUP = 64;

/** The four numbers that place the window of one level: origin = seed * a - b, per axis. */
const levelFields = (prefix: string): Record<string, ScalarType> => ({
  [`${prefix}aH`]: 'i32', [`${prefix}bH`]: 'i32', [`${prefix}aW`]: 'i32', [`${prefix}bW`]: 'i32',
});

/** Shared by every window kernel: window extent, full map extent, the top layer's width. */
const WINDOW_FIELDS = {
  total: 'u32', C: 'u32', winH: 'u32', winW: 'u32', H: 'i32', W: 'i32', topW: 'u32',
  ...levelFields(''),
} as const satisfies Record<string, ScalarType>;

/**
 * Where an unpooling reads from: the window (level 'q', size qH x qW) of the
 * pooled map OH x OW, and the forward pooling's geometry (kernel, stride,
 * dilation, leading pads), whose switches say which input position each
 * pooled value came from.
 */
const UNPOOL_FIELDS: Record<string, ScalarType> = {
  qH: 'u32', qW: 'u32', OH: 'i32', OW: 'i32',
  pkH: 'i32', pkW: 'i32', psH: 'i32', psW: 'i32', pdH: 'i32', pdW: 'i32', ppadT: 'i32', ppadL: 'i32',
  ...levelFields('q'),
};

export const windowParams = defineParams(WINDOW_FIELDS);

export const unpoolWindowParams = defineParams({ ...WINDOW_FIELDS, ...UNPOOL_FIELDS } as Record<string, ScalarType>);

/** The filter step's fields; the unpool fields are zeros where the step reads its signal directly. */
export const transposeWindowParams = defineParams({
  ...WINDOW_FIELDS,
  gC: 'u32', gH: 'u32', gW: 'u32', yH: 'i32', yW: 'i32', cinG: 'u32', coutG: 'u32',
  kH: 'u32', kW: 'u32', sH: 'i32', sW: 'i32', dH: 'i32', dW: 'i32',
  ...levelFields('g'),
  ...UNPOOL_FIELDS,
} as Record<string, ScalarType>);

/** The params, `chosen` at @binding(1), then the kernel's own buffers; the helpers every window kernel uses. */
function prologue(params: { struct: string }, buffers: ReadonlyArray<Binding | false>): string {
  return `${kernelHeader(params, [read('chosen', 'array<u32>'), ...buffers])}

fn seedOf(n: u32) -> vec2i {
  let at = chosen[n];
  return vec2i(i32(at / p.topW), i32(at % p.topW));
}

// Window element i as (image, channel plane, full-map row, full-map column);
// origins are vec2i(row, column).
struct At { n: u32, plane: u32, y: i32, x: i32 }
fn windowAt(i: u32) -> At {
  let wx = i % p.winW;
  let wy = (i / p.winW) % p.winH;
  let plane = i / (p.winW * p.winH);
  let n = plane / p.C;
  let o = seedOf(n) * vec2i(p.aH, p.aW) - vec2i(p.bH, p.bW);
  return At(n, plane, o.x + i32(wy), o.y + i32(wx));
}

fn inMap(y: i32, x: i32) -> bool { return y >= 0 && y < p.H && x >= 0 && x < p.W; }
`;
}

/**
 * How an unpooling finds the pooled windows of a position: 'tiled' where the
 * windows tile the map (kernel = stride, no dilation: exactly one window per
 * position, found by one division per axis); 'general' walks the kernel taps
 * (overlapping or dilated windows).
 */
export type UnpoolWalk = 'tiled' | 'general';

/**
 * Unpooling at one position (y, x) of channel plane `plane` of the pooling's
 * input map (row width `width`): the sum of the signals of the pooled windows
 * whose switch chose this position, where those pooled positions lie inside
 * both the pooled map and the signal's window 'q' at origin `q` (see
 * shaders/unpool2d.ts). The one text both the unpooling kernel and the filter
 * step that unpools in its loads compile, so both add the same values in the
 * same (ky, kx) order.
 */
function unpoolAtFn(walk: UnpoolWalk): string {
  if (walk === 'tiled') {
    return `
fn unpoolAt(plane: u32, y: i32, x: i32, width: i32, q: vec2i) -> f32 {
  let oy = (y + p.ppadT) / p.psH;
  let ox = (x + p.ppadL) / p.psW;
  let wy = oy - q.x;
  let wx = ox - q.y;
  if (wy < 0 || wy >= i32(p.qH) || wx < 0 || wx >= i32(p.qW) || oy >= p.OH || ox >= p.OW) { return 0.0; }
  if (switches[(plane * u32(p.OH) + u32(oy)) * u32(p.OW) + u32(ox)] != u32(y * width + x)) { return 0.0; }
  // 0 + v, as the general walk's sum: the same bits for v = -0.
  return 0.0 + g[(plane * p.qH + u32(wy)) * p.qW + u32(wx)];
}
`;
  }
  return `
fn unpoolAt(plane: u32, y: i32, x: i32, width: i32, q: vec2i) -> f32 {
  let here = u32(y * width + x);
  let qLo = max(q, vec2i(0, 0));
  let qHi = min(q + vec2i(i32(p.qH), i32(p.qW)), vec2i(p.OH, p.OW));
  var acc = 0.0;
  for (var ky = 0; ky < p.pkH; ky++) {
    let ty = y + p.ppadT - ky * p.pdH;
    let oy = ty / p.psH;
    if (ty < 0 || oy * p.psH != ty || oy < qLo.x || oy >= qHi.x) { continue; }
    for (var kx = 0; kx < p.pkW; kx++) {
      let tx = x + p.ppadL - kx * p.pdW;
      let ox = tx / p.psW;
      if (tx < 0 || ox * p.psW != tx || ox < qLo.y || ox >= qHi.y) { continue; }
      if (switches[(plane * u32(p.OH) + u32(oy)) * u32(p.OW) + u32(ox)] == here) {
        acc += g[(plane * p.qH + u32(oy - q.x)) * p.qW + u32(ox - q.y)];
      }
    }
  }
  return acc;
}
`;
}

/** The origin of the pooled window 'q' of image n. */
const Q_ORIGIN = 'seedOf(n) * vec2i(p.qaH, p.qaW) - vec2i(p.qbH, p.qbW)';

export type WindowRule = 'mask' | 'deconvnet' | 'guided' | 'gradient';

/**
 * The ReLU rule of a projection mode (see shaders/activation.ts) on a loaded
 * value `v` whose forward output is `y` (a WGSL expression, only evaluated by
 * the rules that read it); 'mask' passes `v` (the callers zero what lies
 * outside the map).
 */
function ruleOn(rule: WindowRule, v: string, y: string): string {
  switch (rule) {
    case 'mask': return v;
    case 'deconvnet': return `max(${v}, 0.0)`;
    case 'guided': return `select(0.0, max(${v}, 0.0), ${y} > 0.0)`;
    case 'gradient': return `select(0.0, ${v}, ${y} > 0.0)`;
  }
}

/** Whether a rule reads the forward output (deconvnet passes on the signal's sign alone). */
export const ruleReadsForward = (rule: WindowRule): boolean => rule === 'guided' || rule === 'gradient';

/** window[n, c, wy, wx] = full[n, c, origin + (wy, wx)], 0 outside the map. */
export const cropWindowKernel = defineKernel('window:crop', () => `${prologue(windowParams, [read('full'), readWrite('win')])}
${flatMain(WORKGROUP, 'p.total', `  let a = windowAt(i);
  var v = 0.0;
  if (inMap(a.y, a.x)) { v = full[(a.plane * u32(p.H) + u32(a.y)) * u32(p.W) + u32(a.x)]; }
  win[i] = v;`)}
`);

/**
 * The ReLU rule `rule` on a window, reading the forward output `y` of the
 * full map; 'mask' only zeroes the window positions outside the map. Every
 * rule zeroes them.
 */
export const rectifyWindowKernel = defineKernel('window:rectify', ({ rule }: { rule: WindowRule }) => `${prologue(windowParams, [read('g'), read('y'), readWrite('out')])}
${flatMain(WORKGROUP, 'p.total', `  let a = windowAt(i);
  var r = 0.0;
  if (inMap(a.y, a.x)) {
    let full = (a.plane * u32(p.H) + u32(a.y)) * u32(p.W) + u32(a.x);
    let v = g[i];
    // Read by every rule, so that all of them bind the same buffers.
    let yv = y[full];
    _ = yv;
    r = ${ruleOn(rule, 'v', 'yv')};
  }
  out[i] = r;`)}
`);

/**
 * Unpooling (see shaders/unpool2d.ts) from the window 'q' of the pooled map
 * into a window of the pooled layer's input, then the ReLU rule `rule` of the
 * layer below (its forward output `y` is the pooling's input, bound only for
 * the rules that read it; 'mask': plain unpooling): what would be an unpool
 * pass and a rule pass.
 */
function unpoolWindowShader({ rule, walk }: { rule: WindowRule; walk: UnpoolWalk }): string {
  return `${prologue(unpoolWindowParams, [
    read('g'), read('switches', 'array<u32>'), ruleReadsForward(rule) && read('y'), readWrite('dx'),
  ])}
${unpoolAtFn(walk)}
${flatMain(WORKGROUP, 'p.total', `  let a = windowAt(i);
  var r = 0.0;
  if (inMap(a.y, a.x)) {
    let n = a.n;
    let v = unpoolAt(a.plane, a.y, a.x, p.W, ${Q_ORIGIN});
    r = ${ruleOn(rule, 'v', 'y[(a.plane * u32(p.H) + u32(a.y)) * u32(p.W) + u32(a.x)]')};
  }
  dx[i] = r;`)}
`;
}

/** Also the dense walk's unpooling with the rule below, on a window that is the whole map (src/deconv/dense_fusion.ts). */
export const unpoolWindowKernel = defineKernel('window:unpool', unpoolWindowShader);

/**
 * The reverse of the crop: full[n, c, y, x] = window value where (y, x) lies
 * in the image's window, 0 elsewhere. One invocation per full-map element
 * (here `total`, winH and winW describe the window, H and W the map).
 */
export const placeWindowKernel = defineKernel('window:place', () => `${prologue(windowParams, [read('win'), readWrite('full')])}
${flatMain(WORKGROUP, 'p.total', `  let x = i32(i % u32(p.W));
  let y = i32((i / u32(p.W)) % u32(p.H));
  let plane = i / u32(p.W * p.H);
  let o = seedOf(plane / p.C) * vec2i(p.aH, p.aW) - vec2i(p.bH, p.bW);
  let wy = y - o.x;
  let wx = x - o.y;
  var v = 0.0;
  if (wy >= 0 && wy < i32(p.winH) && wx >= 0 && wx < i32(p.winW)) {
    v = win[(plane * p.winH + u32(wy)) * p.winW + u32(wx)];
  }
  full[i] = v;`)}
`);

export interface TransposeWindowSpec {
  rule: WindowRule;
  /** The signal is a window of a max pooling's output: each load unpools it through the switches first (walking the windows so). */
  unpool: UnpoolWalk | false;
}

/**
 * The filter step on windows with the unpooling and the ReLU rule fused into
 * its loads: a 'valid' transposed convolution of the signal window (level
 * 'g', the conv's output map, whose forward values are `fwdOut`) into the
 * window of the conv's input, one invocation per output element (gathered,
 * no atomics). Each load reads 0 outside the map, unpools the pooled window
 * 'q' where `unpool` (the conv's output is the pooling's input) and applies
 * `rule`, so neither the unpooling, the ReLU rule nor the mask needs a pass of
 * its own. Weight: the conv's [M, C/groups, kH, kW] read as a transposed
 * weight [Cin=M, Cout/g, kH, kW].
 */
export const transposeWindowKernel = defineKernel('window:transpose', ({ rule, unpool }: TransposeWindowSpec) => {
  const fwd = '(((n * p.gC + ci) * u32(p.yH) + u32(y)) * u32(p.yW) + u32(x))';
  const load = unpool ? 'unpoolAt(n * p.gC + ci, y, x, p.yW, q)' : 'g[((n * p.gC + ci) * p.gH + gy) * p.gW + gx]';
  return `${prologue(transposeWindowParams, [
    read('g'), unpool && read('switches', 'array<u32>'), read('fwdOut'), read('w'), readWrite('out'),
  ])}
${unpool ? unpoolAtFn(unpool) : ''}
// o: the origin of the signal's window (the conv's output map); q: the pooled window's, where the loads unpool.
fn loadG(n: u32, ci: u32, gy: u32, gx: u32, o: vec2i, q: vec2i) -> f32 {
  let y = o.x + i32(gy);
  let x = o.y + i32(gx);
  if (y < 0 || y >= p.yH || x < 0 || x >= p.yW) { return 0.0; }
  let v = ${load};
  return ${ruleOn(rule, 'v', `fwdOut[${fwd}]`)};
}

${flatMain(WORKGROUP, 'p.total', `  // Every rule binds the forward output (only guided and gradient read its values).
  _ = arrayLength(&fwdOut);
  let wx = i32(i % p.winW);
  let wy = i32((i / p.winW) % p.winH);
  let co = (i / (p.winW * p.winH)) % p.C;
  let n = i / (p.winW * p.winH * p.C);
  let o = seedOf(n) * vec2i(p.gaH, p.gaW) - vec2i(p.gbH, p.gbW);
  let q = ${unpool ? Q_ORIGIN : 'vec2i(0, 0)'};
  let group = co / p.coutG;
  let m = co % p.coutG;
  var acc = 0.0;
  for (var c = 0u; c < p.cinG; c++) {
    let ci = group * p.cinG + c;
    let wBase = (ci * p.coutG + m) * p.kH * p.kW;
    for (var ky = 0u; ky < p.kH; ky++) {
      let ty = wy - i32(ky) * p.dH;
      let gy = ty / p.sH;
      if (ty < 0 || gy * p.sH != ty || gy >= i32(p.gH)) { continue; }
      for (var kx = 0u; kx < p.kW; kx++) {
        let tx = wx - i32(kx) * p.dW;
        let gx = tx / p.sW;
        if (tx < 0 || gx * p.sW != tx || gx >= i32(p.gW)) { continue; }
        acc += loadG(n, ci, u32(gy), u32(gx), o, q) * w[wBase + ky * p.kW + kx];
      }
    }
  }
  out[i] = acc;`)}
`;
});
