import { defineParams, flatIndexFn } from './params.js';

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

const HEADER = (bindings: string) => `
${lrnParams.struct}
@group(0) @binding(0) var<uniform> p: Params;
${bindings}
${flatIndexFn(WORKGROUP)}

/** D of channel c at the spatial position whose channel 0 is at base. */
fn denom(base: u32, c: i32) -> f32 {
  var ss = 0.0;
  let last = min(c + p.hi, i32(p.channels) - 1);
  for (var j = max(c - p.lo, 0); j <= last; j++) {
    let v = x[base + u32(j) * p.plane];
    ss += v * v;
  }
  return p.bias + p.scale * ss;
}
`;

export function lrnShader(): string {
  return `${HEADER(`@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;`)}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= p.total) { return; }
  let c = (i / p.plane) % p.channels;
  let base = i - c * p.plane;
  y[i] = x[i] * pow(denom(base, i32(c)), -p.beta);
}
`;
}

export function lrnBackwardShader(): string {
  return `${HEADER(`@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;`)}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i >= p.total) { return; }
  let cu = (i / p.plane) % p.channels;
  let c = i32(cu);
  let base = i - cu * p.plane;

  var cross = 0.0;
  let last = min(c + p.lo, i32(p.channels) - 1);
  for (var j = max(c - p.hi, 0); j <= last; j++) {
    let at = base + u32(j) * p.plane;
    cross += g[at] * x[at] * pow(denom(base, j), -p.beta - 1.0);
  }
  dx[i] = g[i] * pow(denom(base, c), -p.beta) - 2.0 * p.scale * p.beta * x[i] * cross;
}
`;
}
