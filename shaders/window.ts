import { defineParams, flatIndexFn, type ScalarType } from './params.js';

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

export const windowParams = defineParams(WINDOW_FIELDS);

export const unpoolWindowParams = defineParams({
  ...WINDOW_FIELDS,
  gH: 'u32', gW: 'u32', OH: 'i32', OW: 'i32',
  kH: 'i32', kW: 'i32', sH: 'i32', sW: 'i32', dH: 'i32', dW: 'i32', padT: 'i32', padL: 'i32',
  ...levelFields('g'),
} as Record<string, ScalarType>);

export const transposeWindowParams = defineParams({
  ...WINDOW_FIELDS,
  gC: 'u32', gH: 'u32', gW: 'u32', yH: 'i32', yW: 'i32', cinG: 'u32', coutG: 'u32',
  kH: 'u32', kW: 'u32', sH: 'i32', sW: 'i32', dH: 'i32', dW: 'i32',
  ...levelFields('g'),
} as Record<string, ScalarType>);

/** Bindings after the params: `chosen`, then the kernel's own. */
function prologue(struct: string, buffers: string[]): string {
  const decls = buffers.map((b, i) => `@group(0) @binding(${i + 2}) ${b};`).join('\n');
  return `${struct}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> chosen: array<u32>;
${decls}
${flatIndexFn(WORKGROUP)}

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

/** window[n, c, wy, wx] = full[n, c, origin + (wy, wx)], 0 outside the map. */
export function cropWindowShader(): string {
  return `${prologue(windowParams.struct, ['var<storage, read> full: array<f32>', 'var<storage, read_write> win: array<f32>'])}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= p.total) { return; }
  let a = windowAt(i);
  var v = 0.0;
  if (inMap(a.y, a.x)) { v = full[(a.plane * u32(p.H) + u32(a.y)) * u32(p.W) + u32(a.x)]; }
  win[i] = v;
}
`;
}

export type WindowRule = 'mask' | 'deconvnet' | 'guided' | 'gradient';

/**
 * The ReLU rule of a projection mode on a window (see shaders/activation.ts),
 * reading the forward output `y` of the full map; 'mask' only zeroes the
 * window positions outside the map. Every rule zeroes them.
 */
export function rectifyWindowShader(rule: WindowRule): string {
  const apply: Record<WindowRule, string> = {
    mask: 'v',
    deconvnet: 'max(v, 0.0)',
    guided: 'select(0.0, max(v, 0.0), yv > 0.0)',
    gradient: 'select(0.0, v, yv > 0.0)',
  };
  return `${prologue(windowParams.struct, [
    'var<storage, read> g: array<f32>', 'var<storage, read> y: array<f32>', 'var<storage, read_write> out: array<f32>',
  ])}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= p.total) { return; }
  let a = windowAt(i);
  var r = 0.0;
  if (inMap(a.y, a.x)) {
    let full = (a.plane * u32(p.H) + u32(a.y)) * u32(p.W) + u32(a.x);
    let v = g[i];
    // Read by every rule, so that all of them bind the same buffers.
    let yv = y[full];
    _ = yv;
    r = ${apply[rule]};
  }
  out[i] = r;
}
`;
}

/**
 * Unpooling (see shaders/unpool2d.ts) from a window of the pooled map (level
 * 'g') into a window of the pooled layer's input: each input position gathers
 * the signals of the windows whose switch chose it, where those pooled
 * positions lie inside both the pooled map and the signal's window.
 */
export function unpoolWindowShader(): string {
  return `${prologue(unpoolWindowParams.struct, [
    'var<storage, read> g: array<f32>', 'var<storage, read> switches: array<u32>', 'var<storage, read_write> dx: array<f32>',
  ])}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= p.total) { return; }
  let a = windowAt(i);
  var acc = 0.0;
  if (inMap(a.y, a.x)) {
    let here = u32(a.y * p.W + a.x);
    let gOrigin = seedOf(a.n) * vec2i(p.gaH, p.gaW) - vec2i(p.gbH, p.gbW);
    let gLo = max(gOrigin, vec2i(0, 0));
    let gHi = min(gOrigin + vec2i(i32(p.gH), i32(p.gW)), vec2i(p.OH, p.OW));
    for (var ky = 0; ky < p.kH; ky++) {
      let ty = a.y + p.padT - ky * p.dH;
      let oy = ty / p.sH;
      if (ty < 0 || oy * p.sH != ty || oy < gLo.x || oy >= gHi.x) { continue; }
      for (var kx = 0; kx < p.kW; kx++) {
        let tx = a.x + p.padL - kx * p.dW;
        let ox = tx / p.sW;
        if (tx < 0 || ox * p.sW != tx || ox < gLo.y || ox >= gHi.y) { continue; }
        if (switches[(a.plane * u32(p.OH) + u32(oy)) * u32(p.OW) + u32(ox)] == here) {
          acc += g[(a.plane * p.gH + u32(oy - gOrigin.x)) * p.gW + u32(ox - gOrigin.y)];
        }
      }
    }
  }
  dx[i] = acc;
}
`;
}

/**
 * The reverse of the crop: full[n, c, y, x] = window value where (y, x) lies
 * in the image's window, 0 elsewhere. One invocation per full-map element
 * (here `total`, winH and winW describe the window, H and W the map).
 */
export function placeWindowShader(): string {
  return `${prologue(windowParams.struct, ['var<storage, read> win: array<f32>', 'var<storage, read_write> full: array<f32>'])}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= p.total) { return; }
  let x = i32(i % u32(p.W));
  let y = i32((i / u32(p.W)) % u32(p.H));
  let plane = i / u32(p.W * p.H);
  let o = seedOf(plane / p.C) * vec2i(p.aH, p.aW) - vec2i(p.bH, p.bW);
  let wy = y - o.x;
  let wx = x - o.y;
  var v = 0.0;
  if (wy >= 0 && wy < i32(p.winH) && wx >= 0 && wx < i32(p.winW)) {
    v = win[(plane * p.winH + u32(wy)) * p.winW + u32(wx)];
  }
  full[i] = v;
}
`;
}

/**
 * The filter step on windows with the ReLU rule fused into its loads: a
 * 'valid' transposed convolution of the signal window `g` (level 'g', the
 * conv's output map, whose forward values are `fwdOut`) into the window of
 * the conv's input, one invocation per output element (gathered, no
 * atomics). Each load of g applies `rule` and reads 0 outside the map, so
 * neither the ReLU rule nor the mask needs a pass of its own. Weight: the
 * conv's [M, C/groups, kH, kW] read as a transposed weight [Cin=M, Cout/g, kH, kW].
 */
export function transposeWindowShader(rule: WindowRule): string {
  const fwd = '(((n * p.gC + ci) * u32(p.yH) + u32(y)) * u32(p.yW) + u32(x))';
  const apply: Record<WindowRule, string> = {
    mask: 'v',
    deconvnet: 'max(v, 0.0)',
    guided: `select(0.0, max(v, 0.0), fwdOut[${fwd}] > 0.0)`,
    gradient: `select(0.0, v, fwdOut[${fwd}] > 0.0)`,
  };
  return `${prologue(transposeWindowParams.struct, [
    'var<storage, read> g: array<f32>', 'var<storage, read> fwdOut: array<f32>',
    'var<storage, read> w: array<f32>', 'var<storage, read_write> out: array<f32>',
  ])}
fn loadG(n: u32, ci: u32, gy: u32, gx: u32, o: vec2i) -> f32 {
  let y = o.x + i32(gy);
  let x = o.y + i32(gx);
  if (y < 0 || y >= p.yH || x < 0 || x >= p.yW) { return 0.0; }
  let v = g[((n * p.gC + ci) * p.gH + gy) * p.gW + gx];
  return ${apply[rule]};
}

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= p.total) { return; }
  // Every rule binds the forward output (only guided and gradient read its values).
  _ = arrayLength(&fwdOut);
  let wx = i32(i % p.winW);
  let wy = i32((i / p.winW) % p.winH);
  let co = (i / (p.winW * p.winH)) % p.C;
  let n = i / (p.winW * p.winH * p.C);
  let o = seedOf(n) * vec2i(p.gaH, p.gaW) - vec2i(p.gbH, p.gbW);
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
        acc += loadG(n, ci, u32(gy), u32(gx), o) * w[wBase + ky * p.kW + kx];
      }
    }
  }
  out[i] = acc;
}
`;
}
